import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCbor, signSign1, signerFor, toCbor } from '../../../../models/format/index.ts';
import {
  COMMAND_CONTENT_TYPE,
  COMMAND_MAX_BYTES,
  LifecycleError,
  encodeCommand,
  parseCommand,
  type Command,
  type Lifecycle,
} from '../../../../runtime/lifecycle/index.ts';
import { tempDir, testKey } from '../../../fixtures/bundles/kit.ts';
import { Clock, DEVICE, FAMILY, KEYS, bundle, command, openLifecycle, tempDataDir } from './helpers.ts';

let l: Lifecycle;
const clock = new Clock();

beforeAll(async () => {
  l = await openLifecycle(tempDataDir(), clock);
  await l.install(await bundle(1, { dir: tempDir() }));
});
afterAll(async () => {
  await l.close();
});

function lastRecord() {
  return [...l.audit.records()].at(-1);
}

async function expectRejected(bytes: Uint8Array, code: string, actor: RegExp): Promise<void> {
  const before = l.audit.count();
  const outcome = await l.applyCommand(bytes);
  expect(outcome).toMatchObject({ kind: 'rejected', code });
  expect(l.audit.count()).toBe(before + 1);
  const record = lastRecord();
  expect(record?.kind).toBe('command-rejected');
  expect(record?.payload.code).toBe(code);
  expect(record?.actor).toMatch(actor);
}

describe('signed commands', () => {
  it('accepts a valid freeze once and rejects its replay', async () => {
    const bytes = command({ kind: 'freeze' }, clock, { reason: 'audit' });
    expect((await l.applyCommand(bytes)).kind).toBe('accepted');
    await expectRejected(bytes, 'REPLAYED', /^release:release-erin$/);
    expect((await l.applyCommand(command({ kind: 'unfreeze' }, clock))).kind).toBe('accepted');
  });

  it('rejects expired, not-yet-valid and too-long-lived commands', async () => {
    await expectRejected(
      command({ kind: 'freeze' }, clock, {
        issuedAtMs: clock.ms - 7200_000,
        expiresAtMs: clock.ms - 3600_000,
      }),
      'EXPIRED',
      /^release:/,
    );
    await expectRejected(
      command({ kind: 'freeze' }, clock, { issuedAtMs: clock.ms + 3600_000 }),
      'NOT_YET_VALID',
      /^release:/,
    );
    await expectRejected(
      command({ kind: 'freeze' }, clock, { expiresAtMs: clock.ms + 30 * 86_400_000 }),
      'VALIDITY_TOO_LONG',
      /^release:/,
    );
  });

  it('rejects commands aimed at another fleet, device or cohort', async () => {
    await expectRejected(
      command({ kind: 'freeze' }, clock, { target: { fleet: 'ward-4', devices: null, cohort: null } }),
      'OTHER_DEVICE',
      /^release:/,
    );
    await expectRejected(
      command({ kind: 'freeze' }, clock, {
        target: { fleet: DEVICE.fleet, devices: ['gw-0002'], cohort: null },
      }),
      'OTHER_DEVICE',
      /^release:/,
    );
    await expectRejected(
      command({ kind: 'freeze' }, clock, { target: { fleet: DEVICE.fleet, devices: null, cohort: 'day' } }),
      'OTHER_DEVICE',
      /^release:/,
    );
  });

  it('rejects unsigned, wrongly signed and wrong-role commands, naming no signer it cannot prove', async () => {
    const c: Command = {
      kind: 'freeze',
      target: { fleet: DEVICE.fleet, devices: null, cohort: null },
      nonce: new Uint8Array(16).fill(9),
      issuedAtMs: clock.ms,
      expiresAtMs: clock.ms + 60_000,
      issuer: 'Mallory <m@evil.example>',
      reason: 'x',
    };
    await expectRejected(encodeCommand(c), 'NOT_SIGNED', /^unauthenticated$/);
    await expectRejected(
      command({ kind: 'freeze' }, clock, { key: KEYS.qa }),
      'WRONG_ROLE',
      /^unauthenticated$/,
    );
    await expectRejected(
      command({ kind: 'freeze' }, clock, { key: testKey('release-mallory', 'release') }),
      'UNKNOWN_KEY',
      /^unauthenticated$/,
    );
    const good = command({ kind: 'freeze' }, clock);
    const tampered = Uint8Array.from(good);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    await expectRejected(tampered, 'BAD_SIGNATURE', /^unauthenticated$/);
    expect(lastRecord()?.payload.claimedKid).toBe('release-erin');
  });

  it('rejects a signed payload that is not a valid command, and oversize input', async () => {
    const signer = signerFor(KEYS.release);
    const junk = signSign1({
      payload: encodeCbor(toCbor({ v: 1, kind: 'reboot' })),
      contentType: COMMAND_CONTENT_TYPE,
      signer,
    });
    await expectRejected(junk, 'MALFORMED', /^release:release-erin$/);
    const otherType = signSign1({ payload: new Uint8Array([0xa0]), contentType: 'application/cbor', signer });
    await expectRejected(otherType, 'WRONG_CONTENT_TYPE', /^unauthenticated$/);
    await expectRejected(new Uint8Array(COMMAND_MAX_BYTES + 1), 'TOO_LARGE', /^unauthenticated$/);
  });

  it('reports action-level rejections with their codes', async () => {
    await expectRejected(
      command({ kind: 'promote', family: FAMILY, bundle: 'ab'.repeat(32), force: false }, clock),
      'NO_CANDIDATE',
      /^release:/,
    );
    await expectRejected(
      command({ kind: 'rollback', family: 'no-such-family' }, clock),
      'UNKNOWN_FAMILY',
      /^release:/,
    );
    await expectRejected(
      command({ kind: 'rollback', family: FAMILY }, clock),
      'NO_LAST_KNOWN_GOOD',
      /^release:/,
    );
  });

  it('audits a command the transport refused unread (above its size cap), signer unknown', () => {
    const before = l.audit.count();
    l.recordTransportRejection({
      code: 'COMMAND_TOO_LARGE',
      topic: 'vigil/t/cmd',
      bytes: 70_000,
      limit: 65_536,
    });
    expect(l.audit.count()).toBe(before + 1);
    const record = lastRecord();
    expect(record?.kind).toBe('command-rejected');
    expect(record?.actor).toBe('unauthenticated');
    expect(record?.payload).toMatchObject({
      code: 'COMMAND_TOO_LARGE',
      via: 'mqtt',
      bytes: 70_000,
      limit: 65_536,
    });
  });

  it('keeps the audit chain intact through all of it', () => {
    expect(l.audit.verify().kind).toBe('intact');
  });

  it('never accepts a bit-flipped command (property)', async () => {
    const bytes = command({ kind: 'unfreeze' }, clock);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, x) => {
          const mutated = Uint8Array.from(bytes);
          mutated[at] = (mutated[at] ?? 0) ^ x;
          const outcome = await l.applyCommand(mutated);
          expect(outcome.kind).toBe('rejected');
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });
});

describe('command payload', () => {
  const base: Command = {
    kind: 'revoke',
    bundle: { by: 'version', modelFamily: FAMILY, version: '1.2.0' },
    target: { fleet: 'ward-3', devices: ['gw-0001', 'gw-0002'], cohort: null },
    nonce: new Uint8Array(16).fill(1),
    issuedAtMs: 1_700_000_000_000,
    expiresAtMs: 1_700_000_600_000,
    issuer: 'Erin Release <erin@acme.example>',
    reason: 'unsafe',
  };

  it('round-trips through deterministic CBOR', () => {
    expect(parseCommand(encodeCommand(base))).toEqual(base);
    const promote: Command = {
      ...base,
      kind: 'promote',
      family: FAMILY,
      bundle: 'cd'.repeat(32),
      force: true,
    };
    expect(parseCommand(encodeCommand(promote))).toEqual(promote);
  });

  it('rejects unknown fields, short nonces and expiry before issue', () => {
    const withExtra = encodeCbor(
      toCbor({ ...JSON.parse(JSON.stringify({ v: 1, kind: 'freeze' })), extra: 1 }),
    );
    expect(() => parseCommand(withExtra)).toThrow(LifecycleError);
    expect(() => parseCommand(encodeCommand({ ...base, nonce: new Uint8Array(8) }))).toThrow(/nonce/);
    expect(() => parseCommand(encodeCommand({ ...base, expiresAtMs: base.issuedAtMs }))).toThrow(/expiresAt/);
  });
});
