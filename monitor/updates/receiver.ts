// Device side of an update transfer (issue 7, "Signed updates over MQTT"): takes the manifest,
// reassembles the chunks into a private staging file, verifies every chunk's SHA-256 on arrival and
// the whole file's at the end, and hands the staged file to the lifecycle's install path. Size caps
// are checked before anything is written. Progress is persistent (a byte per chunk, set after the
// chunk's data is fsynced), so after a disconnect or a restart the device asks only for what it
// lacks (`need` ranges) instead of starting from zero. Any corruption rejects the transfer with a
// code and deletes everything staged for it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { parseTransferTopic } from '../mqtt/topics.ts';
import type { TransferScope } from '../mqtt/topics.ts';
import { UpdateError } from './errors.ts';
import type { UpdateErrorCode } from './errors.ts';
import { missingRanges } from './ranges.ts';
import { StagingDir } from './staging.ts';
import type { DoneRecord } from './staging.ts';
import { MAX_NEED_RANGES } from './status.ts';
import type { UpdateStatus, UpdateStatusKind } from './status.ts';
import { CHUNK_HEADER_BYTES, chunkLength, decodeChunk, decodeManifest, digestEqual, sha256 } from './wire.ts';
import type { TransferManifest } from './wire.ts';

export interface UpdateLimits {
  /** Largest file a transfer may declare. */
  readonly maxTransferBytes: number;
  /** Largest chunk a transfer may declare. */
  readonly maxChunkBytes: number;
  /** Largest manifest message accepted (checked before parsing). */
  readonly maxManifestBytes: number;
  readonly maxActiveTransfers: number;
  /** Silence after which an incomplete transfer asks again for its missing chunks. */
  readonly stallMs: number;
  /** An incomplete transfer older than this is dropped (TRANSFER_EXPIRED). */
  readonly transferExpiryMs: number;
  /**
   * An incomplete transfer that received no chunk for this long gives up its slot to a new manifest
   * when all slots are taken (TRANSFER_ABANDONED): two abandoned pushes must not block updates.
   */
  readonly abandonAfterMs: number;
}

export const UPDATE_LIMIT_DEFAULTS: UpdateLimits = Object.freeze({
  maxTransferBytes: 64 * 1024 * 1024,
  maxChunkBytes: 256 * 1024,
  maxManifestBytes: 512 * 1024,
  maxActiveTransfers: 2,
  stallMs: 5000,
  transferExpiryMs: 24 * 3600 * 1000,
  abandonAfterMs: 10 * 60 * 1000,
});

/** What the lifecycle's install path answers for a staged bundle. */
export type InstallResult =
  | { readonly kind: 'installed' }
  | { readonly kind: 'shadow' }
  | { readonly kind: 'rejected'; readonly code: string; readonly detail?: string };

export interface UpdateReceiverOptions {
  readonly fleet: string;
  readonly device: string;
  readonly cohort?: string;
  readonly stagingDir: string;
  readonly limits?: Partial<UpdateLimits>;
}

export interface ReceiverTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface UpdateReceiverDeps {
  /**
   * The lifecycle's install path. `path` is valid until the returned promise settles (the staged
   * file is deleted afterwards: copy it). After a crash it may be called again for the same
   * transfer, so it must be idempotent (e.g. keyed by the bundle digest).
   */
  readonly onBundleStaged: (path: string, transferId: string) => InstallResult | Promise<InstallResult>;
  /** Where statuses go, e.g. outboxStatusSink(outbox, …). */
  readonly emitStatus: (status: UpdateStatus) => void;
  readonly now?: () => number;
  readonly timers?: ReceiverTimers;
}

type TransferRejectCode = Exclude<
  UpdateErrorCode,
  'BAD_OPTIONS' | 'STATUS_MALFORMED' | 'NO_TARGETS' | 'TIMEOUT' | 'REJECTED'
>;

type Phase = { readonly kind: 'receiving' } | { readonly kind: 'staged' } | { readonly kind: 'installing' };

interface Active {
  readonly manifest: TransferManifest;
  readonly received: Uint8Array;
  receivedCount: number;
  phase: Phase;
  partFd: number | null;
  bitsFd: number | null;
  startedAt: number;
  lastChunkAt: number;
  reportedQuarter: number;
  stallTimer: unknown;
}

export interface TransferSnapshot {
  readonly transferId: string;
  readonly phase: Phase['kind'];
  readonly receivedChunks: number;
  readonly totalChunks: number;
}

function resolveLimits(input: Partial<UpdateLimits> | undefined): UpdateLimits {
  const out = { ...UPDATE_LIMIT_DEFAULTS, ...(input ?? {}) };
  for (const [key, value] of Object.entries(out)) {
    if (!(key in UPDATE_LIMIT_DEFAULTS)) throw new UpdateError('BAD_OPTIONS', `unknown limit ${key}`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new UpdateError('BAD_OPTIONS', `${key} must be a positive integer`);
    }
  }
  return Object.freeze(out);
}

export class UpdateReceiver {
  readonly limits: UpdateLimits;
  private readonly options: UpdateReceiverOptions;
  private readonly deps: UpdateReceiverDeps;
  private readonly staging: StagingDir;
  private readonly now: () => number;
  private readonly timers: ReceiverTimers;
  private readonly active = new Map<string, Active>();
  private done: DoneRecord[];
  private online = false;
  private closed = false;
  private installs: Promise<void> = Promise.resolve();

  private constructor(options: UpdateReceiverOptions, deps: UpdateReceiverDeps) {
    this.options = options;
    this.deps = deps;
    this.limits = resolveLimits(options.limits);
    this.staging = new StagingDir(options.stagingDir);
    this.now = deps.now ?? Date.now;
    this.timers = deps.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => {
        clearTimeout(h as NodeJS.Timeout);
      },
    };
    this.done = this.staging.readDone();
  }

  /**
   * Opens the staging directory and resumes what is on disk: incomplete transfers keep the chunks
   * whose digests still verify; complete ones are handed to the lifecycle again.
   */
  static open(options: UpdateReceiverOptions, deps: UpdateReceiverDeps): UpdateReceiver {
    let receiver: UpdateReceiver;
    try {
      receiver = new UpdateReceiver(options, deps);
      receiver.resumeFromDisk();
    } catch (error) {
      if (error instanceof UpdateError) throw error;
      throw new UpdateError('STAGING_FAILED', `staging directory ${options.stagingDir}`, { cause: error });
    }
    return receiver;
  }

  /** Call when the MQTT client is connected: incomplete transfers ask for their missing chunks. */
  onConnected(): void {
    this.online = true;
    for (const [id, t] of this.active) if (t.phase.kind === 'receiving') this.askForMissing(id, t);
  }

  onDisconnected(): void {
    this.online = false;
  }

  /** Handles one message from the update-transfer subscriptions (DeviceClient's onUpdate). */
  handleMessage(payload: Uint8Array, topic: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    const parsed = parseTransferTopic(topic);
    if (!parsed || !this.inScope(parsed.scope)) return Promise.resolve();
    switch (parsed.part.kind) {
      case 'manifest':
        this.onManifest(parsed.transferId, parsed.scope, payload);
        break;
      case 'chunk':
        this.onChunk(parsed.transferId, parsed.part.index, payload);
        break;
    }
    return Promise.resolve();
  }

  /** Later stages reported by the lifecycle (verified, installed, shadow, promoted, rejected). */
  reportUpdateStatus(
    transferId: string,
    status: Exclude<UpdateStatusKind, 'accepted' | 'progress' | 'need'>,
    code?: string,
  ): void {
    this.emit({ transferId, status, ...(code === undefined ? {} : { code }) });
    // Only an outcome ends a transfer: `verified` comes before the install commits, and a restart in
    // between must hand the staged bundle over again rather than forget it.
    if (status !== 'verified' && status !== 'received') this.recordDone(transferId, status, code);
  }

  /** Resolves when no hand-over to the lifecycle is running. */
  async idle(): Promise<void> {
    for (;;) {
      const current = this.installs;
      await current;
      if (current === this.installs) return;
    }
  }

  transfers(): TransferSnapshot[] {
    return [...this.active].map(([transferId, t]) => ({
      transferId,
      phase: t.phase.kind,
      receivedChunks: t.receivedCount,
      totalChunks: t.manifest.chunkCount,
    }));
  }

  /** Outcome of a finished transfer, if this device remembers it. */
  outcome(transferId: string): DoneRecord | undefined {
    return this.done.findLast((r) => r.transferId === transferId);
  }

  close(): void {
    this.closed = true;
    for (const t of this.active.values()) this.closeFiles(t);
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private inScope(scope: TransferScope): boolean {
    if (scope.fleet !== this.options.fleet) return false;
    return scope.kind === 'fleet' || scope.device === this.options.device;
  }

  private emit(status: UpdateStatus): void {
    this.deps.emitStatus(status);
  }

  private recordDone(transferId: string, status: UpdateStatusKind, code?: string): void {
    this.done = [
      ...this.done.filter((r) => r.transferId !== transferId),
      { transferId, status, ...(code === undefined ? {} : { code }), at: this.now() },
    ];
    try {
      this.staging.writeDone(this.done);
    } catch {
      // Losing the outcome only means a re-sent manifest is received again and judged again.
    }
  }

  private onManifest(transferId: string, scope: TransferScope, payload: Uint8Array): void {
    const previous = this.outcome(transferId);
    if (previous) {
      // Idempotent: a re-sent manifest for a finished transfer gets the same answer.
      this.emit({ transferId, status: previous.status, ...(previous.code ? { code: previous.code } : {}) });
      return;
    }
    const current = this.active.get(transferId);
    if (current) {
      if (current.phase.kind === 'receiving') this.askForMissing(transferId, current);
      else this.emit({ transferId, status: 'received', receivedChunks: current.receivedCount });
      return;
    }
    if (payload.length > this.limits.maxManifestBytes) {
      this.reject(transferId, 'MANIFEST_TOO_LARGE', `${payload.length} bytes`);
      return;
    }
    let manifest: TransferManifest;
    try {
      manifest = decodeManifest(payload);
    } catch (error) {
      this.reject(transferId, 'MANIFEST_MALFORMED', error instanceof Error ? error.message : undefined);
      return;
    }
    // A fleet transfer's manifest may come again on the device's own topic (a re-send); a device
    // transfer broadcast to the whole fleet is a sender bug.
    if (manifest.transferId !== transferId || (manifest.target.kind === 'device' && scope.kind === 'fleet')) {
      this.reject(transferId, 'MANIFEST_MALFORMED', 'transfer id or target kind does not fit the topic');
      return;
    }
    // Another cohort's fleet-wide update is none of this device's business: no answer at all.
    if (manifest.target.kind === 'fleet' && manifest.target.cohort !== undefined) {
      if (manifest.target.cohort !== this.options.cohort) return;
    }
    if (manifest.totalBytes > this.limits.maxTransferBytes) {
      this.reject(
        transferId,
        'TRANSFER_TOO_LARGE',
        `${manifest.totalBytes} > ${this.limits.maxTransferBytes}`,
      );
      return;
    }
    if (manifest.chunkBytes > this.limits.maxChunkBytes) {
      this.reject(transferId, 'CHUNK_TOO_LARGE', `${manifest.chunkBytes} > ${this.limits.maxChunkBytes}`);
      return;
    }
    let receiving = [...this.active.values()].filter((t) => t.phase.kind === 'receiving').length;
    if (receiving >= this.limits.maxActiveTransfers) {
      // A transfer silent for abandonAfterMs gives its slot up (the stalest first).
      const now = this.now();
      const stalest = [...this.active.entries()]
        .filter(([, t]) => t.phase.kind === 'receiving' && now - t.lastChunkAt >= this.limits.abandonAfterMs)
        .sort((a, b) => a[1].lastChunkAt - b[1].lastChunkAt)[0];
      if (stalest !== undefined) {
        this.reject(
          stalest[0],
          'TRANSFER_ABANDONED',
          `no chunk for ${String(now - stalest[1].lastChunkAt)} ms`,
        );
        receiving -= 1;
      }
    }
    if (receiving >= this.limits.maxActiveTransfers) {
      // Not an outcome: the same manifest sent again once a slot is free is received.
      this.reject(transferId, 'TOO_MANY_TRANSFERS', `${receiving} already in progress`, { final: false });
      return;
    }
    let t: Active;
    try {
      t = this.createStaging(manifest, payload);
    } catch (error) {
      this.staging.removeTransfer(transferId);
      this.reject(transferId, 'STAGING_FAILED', error instanceof Error ? error.message : undefined, {
        final: false,
      });
      return;
    }
    this.active.set(transferId, t);
    this.emit({ transferId, status: 'accepted', receivedChunks: 0, totalChunks: manifest.chunkCount });
    this.armStall(transferId, t);
  }

  private createStaging(manifest: TransferManifest, bytes: Uint8Array): Active {
    const id = manifest.transferId;
    const partFd = fs.openSync(this.staging.file(id, 'part'), 'w+', 0o600);
    const bitsFd = fs.openSync(this.staging.file(id, 'bits'), 'w+', 0o600);
    const received = new Uint8Array(manifest.chunkCount);
    fs.writeSync(bitsFd, received, 0, received.length, 0);
    fs.fsyncSync(bitsFd);
    fs.fsyncSync(partFd);
    // The manifest last: its presence is what makes the transfer exist after a restart.
    this.staging.writeAtomic(this.staging.file(id, 'manifest'), bytes);
    const now = this.now();
    return {
      manifest,
      received,
      receivedCount: 0,
      phase: { kind: 'receiving' },
      partFd,
      bitsFd,
      startedAt: now,
      lastChunkAt: now,
      reportedQuarter: 0,
      stallTimer: null,
    };
  }

  private onChunk(transferId: string, index: number, payload: Uint8Array): void {
    const t = this.active.get(transferId);
    // Unknown (manifest not seen yet: the sender re-sends it) or finished: nothing to do.
    if (t?.phase.kind !== 'receiving') return;
    const m = t.manifest;
    // Cap before reading anything of the chunk.
    if (payload.length > CHUNK_HEADER_BYTES + m.chunkBytes) {
      this.reject(transferId, 'CHUNK_SIZE_MISMATCH', `chunk message of ${payload.length} bytes`);
      return;
    }
    let chunk;
    try {
      chunk = decodeChunk(payload);
    } catch (error) {
      this.reject(transferId, 'CHUNK_MALFORMED', error instanceof Error ? error.message : undefined);
      return;
    }
    if (chunk.transferId !== transferId || chunk.index !== index) {
      this.reject(transferId, 'CHUNK_MALFORMED', 'transfer id or index differs from the topic');
      return;
    }
    if (index >= m.chunkCount) {
      this.reject(transferId, 'CHUNK_OUT_OF_RANGE', `index ${index} of ${m.chunkCount}`);
      return;
    }
    if (chunk.data.length !== chunkLength(m, index)) {
      this.reject(transferId, 'CHUNK_SIZE_MISMATCH', `chunk ${index} has ${chunk.data.length} bytes`);
      return;
    }
    if (t.received[index] === 1) return; // a duplicate (QoS 1 redelivery or a re-send)
    const expected = m.chunkSha256[index] as Uint8Array;
    const actual = sha256(chunk.data);
    if (!digestEqual(actual, expected) || !digestEqual(chunk.sha256, expected)) {
      this.reject(transferId, 'CHUNK_DIGEST_MISMATCH', `chunk ${index}`);
      return;
    }
    try {
      const partFd = t.partFd as number;
      const bitsFd = t.bitsFd as number;
      fs.writeSync(partFd, chunk.data, 0, chunk.data.length, index * m.chunkBytes);
      fs.fsyncSync(partFd);
      fs.writeSync(bitsFd, ONE, 0, 1, index);
      fs.fsyncSync(bitsFd);
    } catch (error) {
      this.reject(transferId, 'STAGING_FAILED', error instanceof Error ? error.message : undefined);
      return;
    }
    t.received[index] = 1;
    t.receivedCount += 1;
    t.lastChunkAt = this.now();
    if (t.receivedCount === m.chunkCount) {
      this.finish(transferId, t);
      return;
    }
    const quarter = Math.floor((4 * t.receivedCount) / m.chunkCount);
    if (quarter > t.reportedQuarter) {
      t.reportedQuarter = quarter;
      this.emit({
        transferId,
        status: 'progress',
        receivedChunks: t.receivedCount,
        totalChunks: m.chunkCount,
      });
    }
  }

  /** Every chunk is on disk: check the whole file's digest, then stage it for the lifecycle. */
  private finish(transferId: string, t: Active): void {
    this.clearStall(t);
    let digest: Uint8Array;
    try {
      digest = fileDigest(t.partFd as number, t.manifest.totalBytes);
    } catch (error) {
      this.reject(transferId, 'STAGING_FAILED', error instanceof Error ? error.message : undefined);
      return;
    }
    if (!digestEqual(digest, t.manifest.sha256)) {
      this.reject(transferId, 'TRANSFER_DIGEST_MISMATCH', 'the reassembled file does not match the manifest');
      return;
    }
    try {
      this.closeFiles(t);
      fs.renameSync(this.staging.file(transferId, 'part'), this.staging.file(transferId, 'bundle'));
      this.staging.syncDir();
    } catch (error) {
      this.reject(transferId, 'STAGING_FAILED', error instanceof Error ? error.message : undefined);
      return;
    }
    t.phase = { kind: 'staged' };
    this.emit({
      transferId,
      status: 'received',
      receivedChunks: t.receivedCount,
      totalChunks: t.manifest.chunkCount,
    });
    this.handOver(transferId, t);
  }

  /** Queues the hand-over (one at a time, never blocking the MQTT message pipeline). */
  private handOver(transferId: string, t: Active): void {
    this.installs = this.installs.then(async () => {
      if (this.closed || t.phase.kind !== 'staged') return;
      t.phase = { kind: 'installing' };
      let result: InstallResult;
      try {
        result = await this.deps.onBundleStaged(this.staging.file(transferId, 'bundle'), transferId);
      } catch (error) {
        result = {
          kind: 'rejected',
          code: 'INSTALL_FAILED',
          detail: error instanceof Error ? error.message : '',
        };
      }
      // close() may have run while the lifecycle worked.
      if (this.isClosed()) return;
      switch (result.kind) {
        case 'installed':
        case 'shadow':
          this.emit({ transferId, status: result.kind === 'installed' ? 'installed' : 'shadow' });
          this.recordDone(transferId, result.kind === 'installed' ? 'installed' : 'shadow');
          break;
        case 'rejected':
          this.emit({
            transferId,
            status: 'rejected',
            code: result.code,
            ...(result.detail === undefined ? {} : { detail: result.detail.slice(0, 512) }),
          });
          this.recordDone(transferId, 'rejected', result.code);
          break;
      }
      this.active.delete(transferId);
      this.staging.removeTransfer(transferId);
    });
  }

  private reject(
    transferId: string,
    code: TransferRejectCode,
    detail?: string,
    options: { readonly final: boolean } = { final: true },
  ): void {
    const t = this.active.get(transferId);
    if (t) {
      this.clearStall(t);
      this.closeFiles(t);
      this.active.delete(transferId);
    }
    try {
      this.staging.removeTransfer(transferId);
    } catch {
      // Nothing was staged, or the directory is gone: nothing to keep either way.
    }
    this.emit({
      transferId,
      status: 'rejected',
      code,
      ...(detail === undefined ? {} : { detail: detail.slice(0, 512) }),
    });
    if (options.final) this.recordDone(transferId, 'rejected', code);
  }

  private askForMissing(transferId: string, t: Active): void {
    if (!this.online) return;
    this.emit({
      transferId,
      status: 'need',
      receivedChunks: t.receivedCount,
      totalChunks: t.manifest.chunkCount,
      need: missingRanges(t.received, MAX_NEED_RANGES),
    });
  }

  private armStall(transferId: string, t: Active): void {
    this.clearStall(t);
    if (this.closed) return;
    t.stallTimer = this.timers.setTimeout(() => {
      t.stallTimer = null;
      if (this.closed || this.active.get(transferId) !== t || t.phase.kind !== 'receiving') return;
      const now = this.now();
      if (now - t.startedAt > this.limits.transferExpiryMs) {
        this.reject(transferId, 'TRANSFER_EXPIRED', 'no complete transfer within transferExpiryMs');
        return;
      }
      if (now - t.lastChunkAt >= this.limits.stallMs) this.askForMissing(transferId, t);
      this.armStall(transferId, t);
    }, this.limits.stallMs);
  }

  private clearStall(t: Active): void {
    if (t.stallTimer !== null) this.timers.clearTimeout(t.stallTimer);
    t.stallTimer = null;
  }

  private closeFiles(t: Active): void {
    this.clearStall(t);
    for (const fd of [t.partFd, t.bitsFd]) {
      if (fd !== null) {
        try {
          fs.closeSync(fd);
        } catch {
          // already closed
        }
      }
    }
    t.partFd = null;
    t.bitsFd = null;
  }

  private resumeFromDisk(): void {
    for (const id of this.staging.list()) {
      if (this.outcome(id)) {
        this.staging.removeTransfer(id);
        continue;
      }
      let manifest: TransferManifest;
      try {
        manifest = decodeManifest(fs.readFileSync(this.staging.file(id, 'manifest')));
      } catch {
        this.staging.removeTransfer(id);
        continue;
      }
      const now = this.now();
      const startedAt = fs.statSync(this.staging.file(id, 'manifest')).mtimeMs;
      if (fs.existsSync(this.staging.file(id, 'bundle'))) {
        const t: Active = {
          manifest,
          received: new Uint8Array(manifest.chunkCount).fill(1),
          receivedCount: manifest.chunkCount,
          phase: { kind: 'staged' },
          partFd: null,
          bitsFd: null,
          startedAt,
          lastChunkAt: now,
          reportedQuarter: 4,
          stallTimer: null,
        };
        this.active.set(id, t);
        this.handOver(id, t);
        continue;
      }
      let t: Active;
      try {
        t = this.reopen(id, manifest, startedAt, now);
      } catch {
        this.staging.removeTransfer(id);
        continue;
      }
      this.active.set(id, t);
      // Every chunk was on disk before the restart (it came between the last chunk and the hash):
      // finish it now, or it would wait for chunks nobody sends.
      if (t.receivedCount === manifest.chunkCount) this.finish(id, t);
    }
    for (const [id, t] of this.active) if (t.phase.kind === 'receiving') this.armStall(id, t);
  }

  /** Reopens an incomplete transfer, keeping only the chunks whose digest still verifies. */
  private reopen(id: string, manifest: TransferManifest, startedAt: number, now: number): Active {
    const partFd = fs.openSync(this.staging.file(id, 'part'), 'r+');
    const bitsFd = fs.openSync(this.staging.file(id, 'bits'), 'r+');
    const received = new Uint8Array(manifest.chunkCount);
    const bits = new Uint8Array(manifest.chunkCount);
    fs.readSync(bitsFd, bits, 0, bits.length, 0);
    let count = 0;
    const buffer = new Uint8Array(manifest.chunkBytes);
    for (let i = 0; i < manifest.chunkCount; i += 1) {
      if (bits[i] !== 1) continue;
      const length = chunkLength(manifest, i);
      const read = fs.readSync(partFd, buffer, 0, length, i * manifest.chunkBytes);
      if (
        read === length &&
        digestEqual(sha256(buffer.subarray(0, length)), manifest.chunkSha256[i] as Uint8Array)
      ) {
        received[i] = 1;
        count += 1;
      } else {
        fs.writeSync(bitsFd, ZERO, 0, 1, i);
      }
    }
    fs.fsyncSync(bitsFd);
    return {
      manifest,
      received,
      receivedCount: count,
      phase: { kind: 'receiving' },
      partFd,
      bitsFd,
      startedAt,
      lastChunkAt: now,
      reportedQuarter: Math.floor((4 * count) / manifest.chunkCount),
      stallTimer: null,
    };
  }
}

const ONE = new Uint8Array([1]);
const ZERO = new Uint8Array([0]);

function fileDigest(fd: number, totalBytes: number): Uint8Array {
  const hash = createHash('sha256');
  const buffer = new Uint8Array(1024 * 1024);
  let offset = 0;
  while (offset < totalBytes) {
    const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, totalBytes - offset), offset);
    if (n <= 0) throw new Error('short read of the staged file');
    hash.update(buffer.subarray(0, n));
    offset += n;
  }
  // A file longer than declared cannot happen (writes are at checked offsets), but check anyway.
  if (fs.fstatSync(fd).size !== totalBytes) throw new Error('staged file size differs from the manifest');
  return new Uint8Array(hash.digest());
}
