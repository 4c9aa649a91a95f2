import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signSign1, signerFor } from '../../../../models/format/index.ts';
import {
  AuditLog,
  CHECKPOINT_CONTENT_TYPE,
  STATE_MIGRATIONS,
  StateError,
  auditJsonLine,
  auditTextLine,
  describeVerdict,
  openStateDb,
  signCheckpoint,
  verifyAuditJsonl,
  verifyCheckpoint,
} from '../../../../runtime/state/index.ts';
import { testKey } from '../../../fixtures/bundles/kit.ts';

const device = testKey('device-gw-1', 'device');
const other = testKey('device-gw-2', 'device');
const resolve = (kid: string) => (kid === device.kid ? { publicKey: device.publicKey } : undefined);

let dir: string;
let db: Database.Database;
let log: AuditLog;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cp-'));
  db = openStateDb(path.join(dir, 'state.db'), STATE_MIGRATIONS);
  let t = 1_700_000_000_000;
  log = new AuditLog(db, () => (t += 1000));
  log.append('boot', 'runtime', { deviceId: 'gw-1' });
  log.append('bundle-installed', 'local:frank', {
    bundleId: 'fall-detector@1.1.0',
    note: 'two words',
    bytes: new Uint8Array([1, 2]),
  });
  log.append('command-rejected', 'unauthenticated', { code: 'BAD_SIGNATURE' });
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('signed checkpoints', () => {
  it('round-trip and verify with the device key', () => {
    const checkpoint = { ...log.headCheckpoint(), deviceId: 'gw-1' };
    const signed = signCheckpoint(checkpoint, signerFor(device));
    expect(verifyCheckpoint(signed, resolve, { deviceId: 'gw-1' })).toEqual({
      ...checkpoint,
      kid: device.kid,
    });
  });

  it('carry the telemetry sequence number when signed for publication', () => {
    const checkpoint = { ...log.headCheckpoint(), deviceId: 'gw-1', seq: 42 };
    expect(verifyCheckpoint(signCheckpoint(checkpoint, signerFor(device)), resolve)).toMatchObject({
      seq: 42,
    });
  });

  it('refuse another key, another device, a flipped bit and a wrong payload', () => {
    const checkpoint = { ...log.headCheckpoint(), deviceId: 'gw-1' };
    expect(() => verifyCheckpoint(signCheckpoint(checkpoint, signerFor(other)), resolve)).toThrow(StateError);
    expect(() =>
      verifyCheckpoint(signCheckpoint(checkpoint, signerFor(device)), resolve, { deviceId: 'gw-9' }),
    ).toThrow(/not gw-9/);
    const signed = signCheckpoint(checkpoint, signerFor(device));
    const flipped = Uint8Array.from(signed);
    flipped[flipped.length - 3] = (flipped[flipped.length - 3] ?? 0) ^ 4;
    expect(() => verifyCheckpoint(flipped, resolve)).toThrow(/BAD_SIGNATURE/);
    const junk = signSign1({
      payload: new Uint8Array([0xa0]),
      contentType: CHECKPOINT_CONTENT_TYPE,
      signer: signerFor(device),
    });
    try {
      verifyCheckpoint(junk, resolve);
      expect.unreachable();
    } catch (error) {
      expect((error as StateError).code).toBe('BAD_CHECKPOINT');
    }
  });
});

describe('audit exports', () => {
  it('writes one readable line per record', () => {
    const lines = [...log.rows()].map(auditTextLine);
    expect(lines[1]).toMatch(
      /^#2 2023-11-14T22:13:22\.000Z bundle-installed by local:frank {2}bundleId=fall-detector@1\.1\.0 note="two words" bytes=0102$/,
    );
    expect(lines).toHaveLength(3);
  });

  it('writes JSONL that re-verifies, and whose tampering is located', () => {
    const jsonl = [...log.rows()].map((r) => JSON.stringify(auditJsonLine(r))).join('\n');
    expect(verifyAuditJsonl(jsonl)).toMatchObject({ kind: 'intact', count: 3 });
    const rows = jsonl.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const swapped = [rows[0], rows[2], rows[1]].map((r) => JSON.stringify(r)).join('\n');
    const verdict = verifyAuditJsonl(swapped);
    expect(verdict).toMatchObject({ kind: 'broken', at: { kind: 'gap', expectedSeq: 2, foundSeq: 3 } });
    expect(describeVerdict(verdict)).toMatch(/record 2 is missing or out of place/);
    const edited = rows.map((r) => ({ ...r }));
    (edited[1] as Record<string, unknown>).actor = 'local:mallory';
    expect(verifyAuditJsonl(edited.map((r) => JSON.stringify(r)).join('\n'))).toMatchObject({
      kind: 'broken',
      at: { kind: 'hash', seq: 2 },
    });
    expect(verifyAuditJsonl('{"seq":1}')).toMatchObject({ kind: 'broken' });
    expect(verifyAuditJsonl('not json')).toMatchObject({ kind: 'broken' });
  });
});
