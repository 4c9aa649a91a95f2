import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { transferChunkTopic, transferManifestTopic } from '../../../../monitor/mqtt/index.ts';
import type { TransferScope } from '../../../../monitor/mqtt/index.ts';
import {
  UPDATE_LIMIT_DEFAULTS,
  UpdateReceiver,
  buildManifest,
  encodeChunk,
  encodeManifest,
} from '../../../../monitor/updates/index.ts';
import type {
  InstallResult,
  TransferManifest,
  UpdateLimits,
  UpdateStatus,
} from '../../../../monitor/updates/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const FLEET = 'f';
const DEVICE = 'd1';
const TID = '0123456789abcdef0123456789abcdef';
const devScope: TransferScope = { kind: 'device', fleet: FLEET, device: DEVICE };
const file = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31 + 7) & 0xff);

class ManualTimers {
  private next = 1;
  readonly pending = new Map<number, () => void>();
  setTimeout = (fn: () => void): unknown => {
    const id = this.next++;
    this.pending.set(id, fn);
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.pending.delete(h as number);
  };
  fireAll(): void {
    const fns = [...this.pending.values()];
    this.pending.clear();
    for (const fn of fns) fn();
  }
}

function setup(
  options: {
    dir?: string;
    cohort?: string;
    limits?: Partial<UpdateLimits>;
    install?: (p: string) => InstallResult | Promise<InstallResult>;
  } = {},
) {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-recv-'));
  if (!options.dir) dirs.push(dir);
  const statuses: UpdateStatus[] = [];
  const staged: { path: string; bytes: Uint8Array; id: string }[] = [];
  let now = 1_000_000;
  const timers = new ManualTimers();
  const receiver = UpdateReceiver.open(
    {
      fleet: FLEET,
      device: DEVICE,
      stagingDir: dir,
      ...(options.cohort ? { cohort: options.cohort } : {}),
      limits: { stallMs: 1000, ...options.limits },
    },
    {
      emitStatus: (s) => statuses.push(s),
      onBundleStaged: (p, id) => {
        staged.push({ path: p, bytes: new Uint8Array(fs.readFileSync(p)), id });
        return options.install ? options.install(p) : { kind: 'installed' };
      },
      now: () => now,
      timers,
    },
  );
  return {
    dir,
    receiver,
    statuses,
    staged,
    timers,
    advance: (ms: number) => {
      now += ms;
    },
    kinds: () => statuses.map((s) => s.status),
  };
}

function manifestOf(
  bytes: Uint8Array,
  chunkBytes = 1000,
  target: TransferManifest['target'] = { kind: 'device' },
) {
  return buildManifest(bytes, { transferId: TID, chunkBytes, name: 'b.vbundle', target });
}

async function sendManifest(r: UpdateReceiver, m: TransferManifest, scope = devScope) {
  await r.handleMessage(encodeManifest(m), transferManifestTopic(scope, m.transferId));
}

async function sendChunk(
  r: UpdateReceiver,
  index: number,
  data: Uint8Array = file,
  chunkBytes = 1000,
  scope = devScope,
) {
  await r.handleMessage(
    encodeChunk(TID, index, data.subarray(index * chunkBytes, (index + 1) * chunkBytes)),
    transferChunkTopic(scope, TID, index),
  );
}

const stagedFiles = (dir: string) => fs.readdirSync(dir).filter((n) => n !== 'done.json');

describe('UpdateReceiver', () => {
  it('reassembles chunks in any order (with duplicates), verifies, hands over and cleans up', async () => {
    const h = setup();
    await sendManifest(h.receiver, manifestOf(file));
    for (const i of [9, 0, 3, 3, 1, 2, 8, 4, 5, 7, 6, 6]) await sendChunk(h.receiver, i);
    await h.receiver.idle();
    expect(h.staged).toHaveLength(1);
    expect(h.staged[0]?.bytes).toEqual(file);
    expect(h.staged[0]?.id).toBe(TID);
    expect(h.kinds()).toEqual(['accepted', 'progress', 'progress', 'progress', 'received', 'installed']);
    expect(stagedFiles(h.dir)).toEqual([]);
    expect((fs.statSync(h.dir).mode & 0o777).toString(8)).toBe('700');
    // A re-sent manifest gets the same answer, nothing is received again.
    await sendManifest(h.receiver, manifestOf(file));
    expect(h.statuses.at(-1)).toMatchObject({ status: 'installed' });
    expect(h.staged).toHaveLength(1);
  });

  it('rejects a corrupted chunk with CHUNK_DIGEST_MISMATCH and keeps nothing staged', async () => {
    const h = setup();
    await sendManifest(h.receiver, manifestOf(file));
    await sendChunk(h.receiver, 0);
    const bad = Uint8Array.from(file);
    bad[1500] = (bad[1500] ?? 0) ^ 0x01;
    // The chunk's own hash is recomputed over the corrupted data: only the manifest's hash catches it.
    await sendChunk(h.receiver, 1, bad);
    for (let i = 2; i < 10; i += 1) await sendChunk(h.receiver, i);
    await h.receiver.idle();
    expect(h.statuses.at(-1)).toMatchObject({ status: 'rejected', code: 'CHUNK_DIGEST_MISMATCH' });
    expect(h.staged).toEqual([]);
    expect(stagedFiles(h.dir)).toEqual([]);
    expect(h.receiver.outcome(TID)).toMatchObject({ status: 'rejected', code: 'CHUNK_DIGEST_MISMATCH' });
  });

  it('rejects a file whose whole digest differs with TRANSFER_DIGEST_MISMATCH', async () => {
    const h = setup();
    const m = { ...manifestOf(file), sha256: new Uint8Array(32) };
    await sendManifest(h.receiver, m);
    for (let i = 0; i < 10; i += 1) await sendChunk(h.receiver, i);
    await h.receiver.idle();
    expect(h.statuses.at(-1)).toMatchObject({ status: 'rejected', code: 'TRANSFER_DIGEST_MISMATCH' });
    expect(h.staged).toEqual([]);
    expect(stagedFiles(h.dir)).toEqual([]);
  });

  it('enforces the size caps before writing anything', async () => {
    const cases: [Partial<UpdateLimits>, string][] = [
      [{ maxTransferBytes: 9_999 }, 'TRANSFER_TOO_LARGE'],
      [{ maxChunkBytes: 999 }, 'CHUNK_TOO_LARGE'],
      [{ maxManifestBytes: 100 }, 'MANIFEST_TOO_LARGE'],
    ];
    for (const [limits, code] of cases) {
      const h = setup({ limits });
      await sendManifest(h.receiver, manifestOf(file));
      await sendChunk(h.receiver, 0);
      expect(h.statuses).toEqual([expect.objectContaining({ status: 'rejected', code })]);
      expect(stagedFiles(h.dir)).toEqual([]);
    }
  });

  it('rejects chunks that do not fit the manifest', async () => {
    const h = setup();
    await sendManifest(h.receiver, manifestOf(file));
    // A last chunk of the wrong length.
    await h.receiver.handleMessage(
      encodeChunk(TID, 9, file.subarray(0, 999)),
      transferChunkTopic(devScope, TID, 9),
    );
    expect(h.statuses.at(-1)).toMatchObject({ status: 'rejected', code: 'CHUNK_SIZE_MISMATCH' });
    const h2 = setup();
    await sendManifest(h2.receiver, manifestOf(file));
    await h2.receiver.handleMessage(
      encodeChunk(TID, 3, file.subarray(0, 1000)),
      transferChunkTopic(devScope, TID, 4),
    );
    expect(h2.statuses.at(-1)).toMatchObject({ status: 'rejected', code: 'CHUNK_MALFORMED' });
  });

  it('resumes after a crash: keeps verified chunks, drops a corrupted one, asks only for the rest', async () => {
    const first = setup();
    await sendManifest(first.receiver, manifestOf(file));
    for (const i of [0, 1, 2, 5, 6]) await sendChunk(first.receiver, i);
    first.receiver.close();
    // Bit rot in chunk 5 while the device was off.
    const part = path.join(first.dir, `${TID}.part`);
    const fd = fs.openSync(part, 'r+');
    fs.writeSync(fd, new Uint8Array([0xee]), 0, 1, 5200);
    fs.closeSync(fd);

    const second = setup({ dir: first.dir });
    expect(second.receiver.transfers()).toEqual([
      { transferId: TID, phase: 'receiving', receivedChunks: 4, totalChunks: 10 },
    ]);
    second.receiver.onConnected();
    expect(second.statuses).toEqual([
      expect.objectContaining({
        status: 'need',
        need: [
          [3, 6],
          [7, 10],
        ],
      }),
    ]);
    for (const i of [3, 4, 5, 7, 8, 9]) await sendChunk(second.receiver, i);
    await second.receiver.idle();
    expect(second.staged[0]?.bytes).toEqual(file);
    expect(second.statuses.at(-1)).toMatchObject({ status: 'installed' });
  });

  it('hands over again a bundle staged before a crash', async () => {
    const first = setup({ install: () => new Promise<InstallResult>(() => undefined) }); // never settles
    await sendManifest(first.receiver, manifestOf(file));
    for (let i = 0; i < 10; i += 1) await sendChunk(first.receiver, i);
    first.receiver.close();
    expect(fs.existsSync(path.join(first.dir, `${TID}.bundle`))).toBe(true);
    const second = setup({ dir: first.dir });
    await second.receiver.idle();
    expect(second.staged[0]?.bytes).toEqual(file);
    expect(second.statuses.at(-1)).toMatchObject({ status: 'installed' });
  });

  it('hands over again a bundle whose install was interrupted after the lifecycle said verified', async () => {
    let first: ReturnType<typeof setup> | null = null;
    first = setup({
      install: () => {
        first?.receiver.reportUpdateStatus(TID, 'verified'); // the lifecycle verified it…
        return new Promise<InstallResult>(() => undefined); // …and the power went before the commit
      },
    });
    await sendManifest(first.receiver, manifestOf(file));
    for (let i = 0; i < 10; i += 1) await sendChunk(first.receiver, i);
    await new Promise((r) => setImmediate(r));
    first.receiver.close();
    const second = setup({ dir: first.dir });
    await second.receiver.idle();
    expect(second.staged[0]?.bytes).toEqual(file);
    expect(second.statuses.at(-1)).toMatchObject({ status: 'installed' });
  });

  it('finishes after a restart a transfer whose chunks were all on disk before its hash was checked', async () => {
    const first = setup();
    await sendManifest(first.receiver, manifestOf(file));
    for (let i = 0; i < 9; i += 1) await sendChunk(first.receiver, i);
    first.receiver.close();
    // The last chunk written and its bit set, as onChunk does, then the crash before finish().
    const part = fs.openSync(path.join(first.dir, `${TID}.part`), 'r+');
    fs.writeSync(part, file.subarray(9000), 0, 1000, 9000);
    fs.closeSync(part);
    const bits = fs.openSync(path.join(first.dir, `${TID}.bits`), 'r+');
    fs.writeSync(bits, new Uint8Array([1]), 0, 1, 9);
    fs.closeSync(bits);
    const second = setup({ dir: first.dir });
    await second.receiver.idle();
    expect(second.staged[0]?.bytes).toEqual(file);
    expect(second.statuses.at(-1)).toMatchObject({ status: 'installed' });
    expect(second.receiver.transfers()).toEqual([]);
  });

  it('asks for missing chunks after a stall, only while online', async () => {
    const h = setup();
    await sendManifest(h.receiver, manifestOf(file));
    await sendChunk(h.receiver, 0);
    h.advance(1500);
    h.timers.fireAll();
    expect(h.kinds()).toEqual(['accepted']); // offline: nothing asked
    h.receiver.onConnected();
    h.advance(1500);
    h.timers.fireAll();
    expect(h.statuses.filter((s) => s.status === 'need').at(-1)).toMatchObject({ need: [[1, 10]] });
  });

  it('ignores another cohort, reports lifecycle rejections and failures with their codes', async () => {
    const h = setup({ cohort: 'night' });
    const fleetScope: TransferScope = { kind: 'fleet', fleet: FLEET };
    await sendManifest(h.receiver, manifestOf(file, 1000, { kind: 'fleet', cohort: 'day' }), fleetScope);
    expect(h.statuses).toEqual([]);

    const r = setup({ install: () => ({ kind: 'rejected', code: 'SIGNATURE_INVALID' }) });
    await sendManifest(r.receiver, manifestOf(file));
    for (let i = 0; i < 10; i += 1) await sendChunk(r.receiver, i);
    await r.receiver.idle();
    expect(r.statuses.at(-1)).toMatchObject({ status: 'rejected', code: 'SIGNATURE_INVALID' });

    const t = setup({
      install: () => {
        throw new Error('boom');
      },
    });
    await sendManifest(t.receiver, manifestOf(file));
    for (let i = 0; i < 10; i += 1) await sendChunk(t.receiver, i);
    await t.receiver.idle();
    expect(t.statuses.at(-1)).toMatchObject({ status: 'rejected', code: 'INSTALL_FAILED' });
    expect(stagedFiles(t.dir)).toEqual([]);

    t.receiver.reportUpdateStatus('f'.repeat(32), 'promoted');
    expect(t.statuses.at(-1)).toEqual({ transferId: 'f'.repeat(32), status: 'promoted' });
  });

  it('limits concurrent transfers', async () => {
    const h = setup({ limits: { maxActiveTransfers: 1 } });
    await sendManifest(h.receiver, manifestOf(file));
    const other = buildManifest(file, {
      transferId: 'b'.repeat(32),
      chunkBytes: 1000,
      name: 'x',
      target: { kind: 'device' },
    });
    await h.receiver.handleMessage(encodeManifest(other), transferManifestTopic(devScope, other.transferId));
    expect(h.statuses.at(-1)).toMatchObject({
      transferId: 'b'.repeat(32),
      status: 'rejected',
      code: 'TOO_MANY_TRANSFERS',
    });
    // Not an outcome: once the first transfer is silent for abandonAfterMs, the same manifest sent
    // again takes its slot (the abandoned one is rejected TRANSFER_ABANDONED).
    h.advance(UPDATE_LIMIT_DEFAULTS.abandonAfterMs);
    await h.receiver.handleMessage(encodeManifest(other), transferManifestTopic(devScope, other.transferId));
    expect(h.statuses.slice(-2)).toEqual([
      expect.objectContaining({ transferId: TID, status: 'rejected', code: 'TRANSFER_ABANDONED' }),
      expect.objectContaining({ transferId: 'b'.repeat(32), status: 'accepted' }),
    ]);
  });
});
