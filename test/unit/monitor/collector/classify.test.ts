import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor, signSign1, toCbor } from '../../../../models/format/index.ts';
import {
  classifyMessage,
  type ClassifyContext,
  type Classified,
  type KeyLookup,
} from '../../../../monitor/collector/classify.ts';
import { encodeReportPayload } from '../../../../monitor/report/index.ts';
import {
  Rng,
  checkpoint,
  driftEvent,
  makeDevice,
  referenceModel,
  safetyEvent,
  signedReport,
  simulateReport,
  stateMessage,
  topic,
  updateStatus,
} from '../../../integration/collector/fleet-sim.ts';
import { inlineVerifier } from '../../../../monitor/collector/index.ts';

const model = referenceModel('fall-detector');
const dev = makeDevice('ward-3', 'bed-1');
const other = makeDevice('ward-3', 'bed-2');
const retired = makeDevice('ward-3', 'bed-9');

const ctx: ClassifyContext = {
  fleet: 'ward-3',
  maxBytes: 64 * 1024,
  nowMs: Date.UTC(2030, 0, 1),
  maxClockSkewMs: 600_000,
  maxWindowsPerSecond: 4,
  lookupKey: (kid): KeyLookup => {
    if (kid === dev.kid)
      return { kind: 'active', key: { publicKey: dev.publicKey, fleet: 'ward-3', device: 'bed-1' } };
    if (kid === other.kid)
      return { kind: 'active', key: { publicKey: other.publicKey, fleet: 'ward-3', device: 'bed-2' } };
    if (kid === retired.kid) return { kind: 'retired' };
    return { kind: 'unknown' };
  },
};

function report(d = dev) {
  return simulateReport(d, model, {
    startMs: 1_767_225_600_000,
    intervalMs: 3_600_000,
    windows: 600,
    rng: new Rng(5),
  });
}

/** Runs the deferred signature check like the ingest path does. */
async function finalCode(c: Classified): Promise<string> {
  if (c.kind === 'accepted') return `accepted:${c.message.kind}`;
  if (c.kind === 'rejected') return c.rejection.code;
  const [ok] = await inlineVerifier().verify([c.check]);
  if (ok !== true) return 'BAD_SIGNATURE';
  return c.ifValid.kind === 'accepted' ? `accepted:${c.ifValid.message.kind}` : c.ifValid.rejection.code;
}

async function classify(t: string, bytes: Uint8Array): Promise<string> {
  return finalCode(classifyMessage(t, bytes, ctx));
}

describe('classifyMessage', () => {
  it('accepts a signed report, drift event, safety event, checkpoint and sealed update status', async () => {
    expect(await classify(topic(dev, 'report'), signedReport(dev, report()))).toBe('accepted:report');
    expect(await classify(topic(dev, 'event'), driftEvent(dev, model, 1_767_229_200_000))).toBe(
      'accepted:drift-event',
    );
    expect(
      await classify(topic(dev, 'event'), safetyEvent(dev, 'rollback', 5, { family: 'fall-detector' })),
    ).toBe('accepted:safety-event');
    expect(await classify(topic(dev, 'audit'), checkpoint(dev, 10, 'h', 6))).toBe('accepted:checkpoint');
    expect(await classify(topic(dev, 'update/status'), updateStatus(dev, 'accepted', 7))).toBe(
      'accepted:update-status',
    );
    expect(await classify(topic(dev, 'state'), stateMessage(dev, true, 1))).toBe('accepted:state');
  });

  it('rejects with a code: unsigned, mis-signed, malformed, unknown, retired, mismatched', async () => {
    const r = report();
    const good = signedReport(dev, r);
    expect(await classify(topic(dev, 'report'), encodeReportPayload(r))).toBe('UNSIGNED');
    const tampered = Uint8Array.from(good);
    tampered[tampered.length - 70] = (tampered[tampered.length - 70] as number) ^ 1; // inside the payload
    expect(await classify(topic(dev, 'report'), tampered)).toBe('BAD_SIGNATURE');
    const badSig = Uint8Array.from(good);
    badSig[badSig.length - 1] = (badSig[badSig.length - 1] as number) ^ 0x10;
    expect(await classify(topic(dev, 'report'), badSig)).toBe('BAD_SIGNATURE');
    expect(await classify(topic(dev, 'report'), new Uint8Array([0xff, 0x00, 0x13]))).toBe('MALFORMED');
    const strangerSigned = signedReport({ ...dev, signer: { ...dev.signer, kid: 'nobody' } }, report());
    expect(await classify(topic(dev, 'report'), strangerSigned)).toBe('UNKNOWN_DEVICE');
    expect(await classify(topic(retired, 'report'), signedReport(retired, report(retired)))).toBe(
      'RETIRED_DEVICE',
    );
    // bed-2's key signing a report that claims to be bed-1
    const forged = signedReport(other, { ...report(), device: 'bed-1' });
    expect(await classify(topic(dev, 'report'), forged)).toBe('KEY_MISMATCH');
    // a valid report of bed-1 replayed on bed-2's topic
    expect(await classify(topic(other, 'report'), good)).toBe('TOPIC_MISMATCH');
    expect(await classify('vigil/v1/ward-9/bed-1/report', good)).toBe('BAD_TOPIC');
    expect(await classify('vigil/v1/ward-3/bed-1/telemetry', good)).toBe('BAD_TOPIC');
    expect(await classify(topic(dev, 'report'), new Uint8Array(70_000))).toBe('TOO_LARGE');
    expect(await classify(topic(dev, 'event'), good)).toBe('WRONG_CONTENT_TYPE');
    expect(await classify(topic(dev, 'update/status'), updateStatus(dev, 'accepted', 1, false))).toBe(
      'UNSIGNED',
    );
    expect(await classify(topic(dev, 'state'), Buffer.from('{"v":2}'))).toBe('MALFORMED');
    expect(await classify(topic(dev, 'state'), stateMessage(other, true, 1))).toBe('TOPIC_MISMATCH');
  });

  it('refuses a validly signed report dated too far ahead, or holding more windows than its interval can', async () => {
    const at = (nowMs: number) => (bytes: Uint8Array) =>
      finalCode(classifyMessage(topic(dev, 'report'), bytes, { ...ctx, nowMs }));
    const r = report(); // 1 h from 2026-01-01T00:00Z, 600 windows
    const endMs = r.endMs;
    expect(await at(endMs)(signedReport(dev, r))).toBe('accepted:report');
    expect(await at(endMs - 600_000)(signedReport(dev, r))).toBe('accepted:report'); // 10 min skew allowed
    expect(await at(endMs - 600_001)(signedReport(dev, r))).toBe('CLOCK_SKEW');
    // 4 windows per second at most: the same 600 windows need an interval of at least 150 s.
    const within = (ms: number) => ({ ...r, startMs: r.endMs - ms });
    const code = async (ms: number) => at(endMs)(signedReport(dev, within(ms)));
    expect(await code(150_000)).toBe('accepted:report');
    expect(await code(149_000)).toBe('IMPLAUSIBLE');
    // A forged one is still a bad signature first.
    const forged = Uint8Array.from(signedReport(dev, within(1_000)));
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
    expect(await at(endMs)(forged)).toBe('BAD_SIGNATURE');
  });

  it('a forged AND malformed message counts as forged (the signature is checked first)', async () => {
    const payload = encodeCbor(toCbor({ v: 1, device: 'bed-1', count: 'x' }));
    const bytes = signSign1({
      payload,
      contentType: 'application/vnd.vigil.audit-checkpoint+cbor',
      signer: dev.signer,
    });
    expect(await classify(topic(dev, 'audit'), bytes)).toBe('BAD_FIELD');
    const forged = Uint8Array.from(bytes);
    forged[forged.length - 2] = (forged[forged.length - 2] as number) ^ 4;
    expect(await classify(topic(dev, 'audit'), forged)).toBe('BAD_SIGNATURE');
  });

  it('property: arbitrary bytes on any suffix never throw and are never accepted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 400 }),
        fc.constantFrom('report', 'event', 'audit', 'update/status'),
        async (bytes, suffix) => {
          const code = await classify(topic(dev, suffix), bytes);
          return !code.startsWith('accepted');
        },
      ),
      { numRuns: 300 },
    );
  });
});
