import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeCbor,
  encodeCbor,
  ed25519Signer,
  isCborMap,
  type CborValue,
} from '../../../../models/format/index.ts';
import {
  REPORT_KEYS,
  ReportError,
  decodeDriftEventPayload,
  decodeReportPayload,
  encodeDriftEventPayload,
  encodeReportPayload,
  jsonEquivalent,
  signReport,
  verifyReport,
  type DriftEvent,
  type ReportErrorCode,
  type TelemetryReport,
} from '../../../../monitor/report/index.ts';
import { EXAMPLE_KID, FIXTURE_DIR, exampleKey, exampleReport } from './example.ts';

function codeOf(fn: () => unknown): ReportErrorCode | 'no error' {
  try {
    fn();
  } catch (error) {
    if (error instanceof ReportError) return error.code;
    throw error;
  }
  return 'no error';
}

/** Re-encodes the payload with one top-level key changed (undefined deletes it). */
function withKey(payload: Uint8Array, key: number, value: CborValue | undefined): Uint8Array {
  const map = decodeCbor(payload);
  if (!isCborMap(map)) throw new Error('not a map');
  const copy = new Map(map);
  if (value === undefined) copy.delete(key);
  else copy.set(key, value);
  return encodeCbor(copy);
}

const key = exampleKey();
const resolveKey = (kid: string) =>
  kid === EXAMPLE_KID ? { publicKey: key.publicKey, fleet: 'ward-3', device: 'bedside-1' } : undefined;

describe('report codec', () => {
  const report = exampleReport();

  it('round-trips the example report exactly, and the encoding is canonical', () => {
    const payload = encodeReportPayload(report);
    const decoded = decodeReportPayload(payload);
    expect(decoded).toEqual(report);
    expect(encodeReportPayload(decoded)).toEqual(payload);
  });

  it('matches the committed fixtures byte for byte (Ed25519 signatures are deterministic)', () => {
    const committed = new Uint8Array(fs.readFileSync(path.join(FIXTURE_DIR, 'example-report.cose')));
    expect(signReport(report, key.signer)).toEqual(committed);
    // The JSON fixture is prettier-formatted: compare its content.
    expect(JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'example-report.json'), 'utf8'))).toEqual(
      JSON.parse(jsonEquivalent(report)),
    );
    const verified = verifyReport(committed, { resolveKey });
    expect(verified.kid).toBe(EXAMPLE_KID);
    expect(verified.value).toEqual(report);
  });

  it('is far smaller than its JSON equivalent', () => {
    const signed = signReport(report, key.signer);
    expect(signed.length).toBeLessThanOrEqual(2048);
    expect(signed.length / Buffer.byteLength(jsonEquivalent(report))).toBeLessThan(0.5);
  });

  it('omits empty optional sections', () => {
    const quiet: TelemetryReport = {
      ...report,
      windows: { ok: report.windows.ok, indeterminate: report.windows.indeterminate, fallback: 0 },
      fallbackReasons: {},
      alerts: { model: 0, fallbackRule: 0, quality: 0 },
      episodes: { started: 0, ended: 0, windows: 0 },
      features: report.features.map((c) => c.map(() => 0)),
      labels: null,
      latency: report.latency.map((v, i) =>
        i === 21 ? v + report.windows.ok + report.windows.indeterminate - 3600 : v,
      ),
      shadow: [],
    };
    const map = decodeCbor(encodeReportPayload(quiet));
    if (!isCborMap(map)) throw new Error('not a map');
    for (const k of [
      REPORT_KEYS.fallbackReasons,
      REPORT_KEYS.alerts,
      REPORT_KEYS.episodes,
      REPORT_KEYS.labels,
      REPORT_KEYS.shadow,
    ]) {
      expect(map.has(k)).toBe(false);
    }
    expect(decodeReportPayload(encodeReportPayload(quiet))).toEqual(quiet);
  });

  it('refuses to encode an inconsistent report (BAD_INPUT), so a device never sends one', () => {
    expect(codeOf(() => encodeReportPayload({ ...report, windows: { ...report.windows, ok: 1 } }))).toBe(
      'BAD_INPUT',
    );
    expect(codeOf(() => encodeReportPayload({ ...report, device: 'a/b' }))).toBe('BAD_INPUT');
  });

  it('rejects hostile payloads with typed codes', () => {
    const payload = encodeReportPayload(report);
    expect(codeOf(() => decodeReportPayload(withKey(payload, REPORT_KEYS.version, 2)))).toBe(
      'UNSUPPORTED_VERSION',
    );
    expect(codeOf(() => decodeReportPayload(withKey(payload, 99, 1)))).toBe('BAD_FIELD');
    expect(codeOf(() => decodeReportPayload(withKey(payload, REPORT_KEYS.seq, undefined)))).toBe('BAD_FIELD');
    expect(codeOf(() => decodeReportPayload(withKey(payload, REPORT_KEYS.seq, -1)))).toBe('BAD_FIELD');
    expect(codeOf(() => decodeReportPayload(withKey(payload, REPORT_KEYS.windows, [1, 2, 3])))).toBe(
      'INCONSISTENT',
    );
    expect(codeOf(() => decodeReportPayload(withKey(payload, REPORT_KEYS.latency, [63, 0, 5])))).toBe(
      'INCONSISTENT',
    );
    expect(codeOf(() => decodeReportPayload(withKey(payload, REPORT_KEYS.latency, [100000000, 0, 5])))).toBe(
      'BAD_FIELD',
    );
    expect(codeOf(() => decodeReportPayload(withKey(payload, REPORT_KEYS.interval, [10, 10])))).toBe(
      'INCONSISTENT',
    );
    expect(codeOf(() => decodeReportPayload(new Uint8Array([0xa1, 0x00])))).toBe('MALFORMED_CBOR');
    expect(codeOf(() => decodeReportPayload(new Uint8Array(70_000)))).toBe('TOO_LARGE');
    expect(codeOf(() => decodeReportPayload(encodeCbor([1, 2])))).toBe('BAD_FIELD');
  });
});

describe('signed reports', () => {
  const report = exampleReport();
  const signed = signReport(report, key.signer);

  it('fail verification with another key under the same kid (BAD_SIGNATURE)', () => {
    const other = ed25519Signer(EXAMPLE_KID, new Uint8Array(32).fill(7));
    expect(codeOf(() => verifyReport(signReport(report, other), { resolveKey }))).toBe('BAD_SIGNATURE');
  });

  it('fail with an unknown kid, a key enrolled for another device, or a flipped byte', () => {
    expect(codeOf(() => verifyReport(signed, { resolveKey: () => undefined }))).toBe('UNKNOWN_KEY');
    expect(
      codeOf(() =>
        verifyReport(signed, {
          resolveKey: () => ({ publicKey: key.publicKey, fleet: 'ward-3', device: 'bedside-2' }),
        }),
      ),
    ).toBe('KEY_MISMATCH');
    const flipped = Uint8Array.from(signed);
    flipped[200] = (flipped[200] as number) ^ 1;
    expect(['BAD_SIGNATURE', 'MALFORMED_CBOR', 'NOT_COSE_SIGN1']).toContain(
      codeOf(() => verifyReport(flipped, { resolveKey })),
    );
    expect(codeOf(() => verifyReport(signed, { resolveKey, maxBytes: 100 }))).toBe('TOO_LARGE');
  });
});

describe('drift events', () => {
  const base: DriftEvent = {
    formatVersion: 1,
    fleet: 'ward-3',
    device: 'bedside-1',
    seq: 12,
    createdMs: 1000,
    kind: 'interval-drift',
    model: exampleReport().model,
    role: 'active',
    cohort: 'c',
    atMs: 999,
    action: 'alert',
    direction: null,
    interval: { startMs: 0, endMs: 900 },
    flags: [{ index: 2, flags: 4 | 128 }],
  };

  it('round-trip', () => {
    expect(decodeDriftEventPayload(encodeDriftEventPayload(base))).toEqual(base);
    const change: DriftEvent = {
      ...base,
      kind: 'score-change',
      direction: 'down',
      interval: null,
      flags: [],
    };
    expect(decodeDriftEventPayload(encodeDriftEventPayload(change))).toEqual(change);
  });

  it('reject inconsistent kinds', () => {
    expect(codeOf(() => encodeDriftEventPayload({ ...base, direction: 'up' }))).toBe('BAD_INPUT');
    expect(
      codeOf(() => encodeDriftEventPayload({ ...base, role: 'shadow', action: 'suppress-outputs' })),
    ).toBe('BAD_INPUT');
  });
});
