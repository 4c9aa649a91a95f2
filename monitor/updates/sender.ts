// Sender side of an update transfer (`vigil push`): publishes the manifest and the chunks (QoS 1,
// pipelined), listens to the devices' update/status topics, re-sends exactly the chunks a device
// says it lacks (`need`), re-sends the manifest to a device that has gone quiet (it answers with its
// terminal status, or with `need`), and finishes when every targeted device has reached the asked
// state or rejected the transfer, or at the timeout.
import { randomBytes } from 'node:crypto';
import { checkId, fleetFilters, transferChunkTopic, transferManifestTopic } from '../mqtt/topics.ts';
import type { TransferScope } from '../mqtt/topics.ts';
import { parseState } from '../mqtt/birth.ts';
import { UpdateError } from './errors.ts';
import { expandRanges } from './ranges.ts';
import { decodeStatusMessage, statusRank } from './status.ts';
import type { UpdateStatusKind, UpdateStatusMessage } from './status.ts';
import { buildManifest, encodeChunk, encodeManifest } from './wire.ts';
import type { TransferManifest } from './wire.ts';

export type PushTarget =
  | { readonly kind: 'devices'; readonly devices: readonly string[] }
  /** The whole fleet, or one cohort of it; targets are the devices whose retained birth says online
   * (and in the cohort), unless `expect` names them. */
  | { readonly kind: 'fleet'; readonly cohort?: string; readonly expect?: readonly string[] };

/** The state a push waits for (or any later one). */
export type PushGoal = 'received' | 'verified' | 'installed' | 'shadow' | 'promoted';

export interface UpdateSenderOptions {
  readonly fleet: string;
  readonly target: PushTarget;
  readonly file: Uint8Array;
  /** Display name carried in the manifest (the bundle's file name). */
  readonly name: string;
  readonly chunkBytes?: number;
  readonly transferId?: string;
  readonly until?: PushGoal;
  readonly timeoutMs?: number;
  /** A device silent this long gets the manifest again. */
  readonly retryMs?: number;
  /** How long `--fleet` listens for retained births to find its targets. */
  readonly discoveryMs?: number;
  /** Chunk publishes in flight at once. */
  readonly window?: number;
}

export const SENDER_DEFAULTS = Object.freeze({
  chunkBytes: 64 * 1024,
  until: 'installed',
  timeoutMs: 10 * 60_000,
  retryMs: 5000,
  discoveryMs: 1500,
  window: 32,
});

/** What the sender needs from an MQTT connection (monitor/mqtt's connectOperator satisfies it). */
export interface SenderTransport {
  publish(topic: string, payload: Uint8Array): Promise<void>;
  subscribe(
    filters: readonly string[],
    handler: (topic: string, payload: Uint8Array, retained: boolean) => void,
  ): Promise<void>;
}

export type SenderEvent =
  | { readonly kind: 'targets'; readonly devices: readonly string[] }
  | { readonly kind: 'chunks-sent'; readonly sent: number; readonly total: number }
  | { readonly kind: 'status'; readonly device: string; readonly status: UpdateStatusMessage }
  | { readonly kind: 'resend'; readonly device: string; readonly chunks: number }
  | { readonly kind: 'manifest-resent'; readonly device: string }
  | { readonly kind: 'publish-failed'; readonly topic: string; readonly error: unknown };

export interface DeviceOutcome {
  readonly device: string;
  /** Latest state reported (by rank), or `pending` if the device never answered. */
  readonly state: UpdateStatusKind | 'pending';
  readonly code?: string;
  readonly receivedChunks: number;
  readonly totalChunks: number;
  readonly done: boolean;
  readonly ok: boolean;
}

export interface PushResult {
  readonly transferId: string;
  readonly ok: boolean;
  readonly timedOut: boolean;
  readonly devices: readonly DeviceOutcome[];
  /** Chunk messages published, re-sends included. */
  readonly chunksPublished: number;
  readonly manifest: TransferManifest;
}

export interface UpdateSenderDeps {
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onEvent?: (event: SenderEvent) => void;
}

interface DeviceTrack {
  state: UpdateStatusKind | 'pending';
  rank: number;
  code?: string;
  receivedChunks: number;
  lastHeard: number;
  lastManifest: number;
  seqs: Set<number>;
  resend: Set<number>;
  resending: boolean;
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UpdateError('BAD_OPTIONS', `${name} must be a positive integer`);
  return value;
}

export class UpdateSender {
  private readonly transport: SenderTransport;
  private readonly options: Required<Omit<UpdateSenderOptions, 'transferId'>> & { transferId: string };
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly onEvent: (event: SenderEvent) => void;
  private readonly manifest: TransferManifest;
  private readonly manifestBytes: Uint8Array;
  private readonly tracks = new Map<string, DeviceTrack>();
  private discovering = false;
  private readonly discovered = new Set<string>();
  private chunksPublished = 0;

  constructor(transport: SenderTransport, options: UpdateSenderOptions, deps: UpdateSenderDeps = {}) {
    this.transport = transport;
    checkIdAs('fleet', options.fleet);
    if (options.target.kind === 'devices') {
      if (options.target.devices.length === 0) throw new UpdateError('BAD_OPTIONS', 'no device given');
      for (const d of options.target.devices) checkIdAs('device', d);
    } else {
      if (options.target.cohort !== undefined) checkIdAs('cohort', options.target.cohort);
      for (const d of options.target.expect ?? []) checkIdAs('device', d);
    }
    const transferId = options.transferId ?? randomBytes(16).toString('hex');
    this.options = {
      fleet: options.fleet,
      target: options.target,
      file: options.file,
      name: options.name,
      transferId,
      chunkBytes: positive(options.chunkBytes ?? SENDER_DEFAULTS.chunkBytes, 'chunkBytes'),
      until: options.until ?? SENDER_DEFAULTS.until,
      timeoutMs: positive(options.timeoutMs ?? SENDER_DEFAULTS.timeoutMs, 'timeoutMs'),
      retryMs: positive(options.retryMs ?? SENDER_DEFAULTS.retryMs, 'retryMs'),
      discoveryMs: positive(options.discoveryMs ?? SENDER_DEFAULTS.discoveryMs, 'discoveryMs'),
      window: positive(options.window ?? SENDER_DEFAULTS.window, 'window'),
    };
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.onEvent = deps.onEvent ?? (() => undefined);
    const target =
      options.target.kind === 'devices'
        ? ({ kind: 'device' } as const)
        : options.target.cohort === undefined
          ? ({ kind: 'fleet' } as const)
          : ({ kind: 'fleet', cohort: options.target.cohort } as const);
    this.manifest = buildManifest(options.file, {
      transferId,
      chunkBytes: this.options.chunkBytes,
      name: options.name,
      target,
    });
    this.manifestBytes = encodeManifest(this.manifest);
  }

  get transferId(): string {
    return this.options.transferId;
  }

  async run(): Promise<PushResult> {
    const { fleet, target } = this.options;
    const started = this.now();
    const filters = fleetFilters(fleet);
    await this.transport.subscribe([filters.updateStatus], (topic, payload) => {
      this.onStatus(topic, payload);
    });
    if (target.kind === 'devices') {
      for (const d of target.devices) this.track(d);
    } else if (target.expect && target.expect.length > 0) {
      for (const d of target.expect) this.track(d);
    } else {
      this.discovering = true;
      await this.transport.subscribe([filters.state], (_topic, payload) => {
        const s = parseState(payload);
        if (!s || !this.discovering || s.fleet !== fleet || !s.online) return;
        if (target.cohort !== undefined && s.cohort !== target.cohort) return;
        this.discovered.add(s.device);
      });
      await this.sleep(this.options.discoveryMs);
      this.discovering = false;
      for (const d of this.discovered) this.track(d);
      if (this.tracks.size === 0) {
        throw new UpdateError(
          'NO_TARGETS',
          `no online device in fleet ${fleet}${target.cohort === undefined ? '' : ` cohort ${target.cohort}`}`,
        );
      }
    }
    this.onEvent({ kind: 'targets', devices: [...this.tracks.keys()] });

    // Initial send: to each device's topic, or once to the fleet topic.
    const scopes: TransferScope[] =
      target.kind === 'devices'
        ? target.devices.map((device) => ({ kind: 'device', fleet, device }))
        : [{ kind: 'fleet', fleet }];
    for (const scope of scopes)
      await this.publish(transferManifestTopic(scope, this.transferId), this.manifestBytes);
    const sentAt = this.now();
    for (const t of this.tracks.values()) t.lastManifest = sentAt;
    const all = Array.from({ length: this.manifest.chunkCount }, (_, i) => i);
    let sent = 0;
    const total = all.length * scopes.length;
    for (const scope of scopes) {
      await this.pool(all, async (index) => {
        await this.publishChunk(scope, index);
        sent += 1;
        this.onEvent({ kind: 'chunks-sent', sent, total });
      });
    }

    // Follow-up until every device is done or the time is up.
    const tick = Math.max(10, Math.min(200, Math.floor(this.options.retryMs / 4)));
    for (;;) {
      if ([...this.tracks.values()].every((t) => this.isDone(t))) break;
      const now = this.now();
      if (now - started > this.options.timeoutMs) break;
      for (const [device, t] of this.tracks) {
        if (this.isDone(t)) continue;
        if (t.resend.size > 0 && !t.resending) void this.resendTo(device, t);
        if (now - Math.max(t.lastHeard, t.lastManifest) >= this.options.retryMs) {
          t.lastManifest = now;
          this.onEvent({ kind: 'manifest-resent', device });
          await this.publish(
            transferManifestTopic({ kind: 'device', fleet, device }, this.transferId),
            this.manifestBytes,
          );
        }
      }
      await this.sleep(tick);
    }
    const devices = [...this.tracks].map(([device, t]) => this.outcome(device, t));
    const timedOut = devices.some((d) => !d.done);
    return {
      transferId: this.transferId,
      ok: !timedOut && devices.every((d) => d.ok),
      timedOut,
      devices,
      chunksPublished: this.chunksPublished,
      manifest: this.manifest,
    };
  }

  private track(device: string): DeviceTrack {
    let t = this.tracks.get(device);
    if (!t) {
      t = {
        state: 'pending',
        rank: 0,
        receivedChunks: 0,
        lastHeard: 0,
        lastManifest: 0,
        seqs: new Set(),
        resend: new Set(),
        resending: false,
      };
      this.tracks.set(device, t);
    }
    return t;
  }

  private isDone(t: DeviceTrack): boolean {
    return t.state === 'rejected' || t.rank >= statusRank(this.options.until);
  }

  private outcome(device: string, t: DeviceTrack): DeviceOutcome {
    const done = this.isDone(t);
    return {
      device,
      state: t.state,
      ...(t.code === undefined ? {} : { code: t.code }),
      receivedChunks: t.receivedChunks,
      totalChunks: this.manifest.chunkCount,
      done,
      ok: done && t.state !== 'rejected',
    };
  }

  private onStatus(topic: string, payload: Uint8Array): void {
    let message: UpdateStatusMessage;
    try {
      message = decodeStatusMessage(payload);
    } catch {
      return;
    }
    if (message.transferId !== this.transferId || message.fleet !== this.options.fleet) return;
    if (topic !== `vigil/v1/${message.fleet}/${message.device}/update/status`) return;
    let t = this.tracks.get(message.device);
    if (!t) {
      // A fleet push also counts devices that accepted it without having been discovered.
      if (this.options.target.kind !== 'fleet') return;
      t = this.track(message.device);
    }
    if (t.seqs.has(message.seq)) return; // dedupe by (device, sequence)
    t.seqs.add(message.seq);
    t.lastHeard = this.now();
    if (message.receivedChunks !== undefined)
      t.receivedChunks = Math.max(t.receivedChunks, message.receivedChunks);
    if (message.status === 'rejected') {
      t.state = 'rejected';
      if (message.code !== undefined) t.code = message.code;
    } else if (t.state !== 'rejected') {
      const rank = statusRank(message.status);
      if (rank >= t.rank) {
        t.rank = rank;
        t.state = message.status;
      }
      if (message.status === 'need' && message.need) {
        for (const i of expandRanges(message.need, this.manifest.chunkCount)) t.resend.add(i);
        if (!t.resending) void this.resendTo(message.device, t);
      }
    }
    this.onEvent({ kind: 'status', device: message.device, status: message });
  }

  /** Re-sends a device's missing chunks to its own topic. */
  private async resendTo(device: string, t: DeviceTrack): Promise<void> {
    t.resending = true;
    try {
      while (t.resend.size > 0 && !this.isDone(t)) {
        const batch = [...t.resend].sort((a, b) => a - b);
        t.resend.clear();
        this.onEvent({ kind: 'resend', device, chunks: batch.length });
        const scope: TransferScope = { kind: 'device', fleet: this.options.fleet, device };
        await this.pool(batch, (index) => this.publishChunk(scope, index));
      }
    } finally {
      t.resending = false;
    }
  }

  private async publishChunk(scope: TransferScope, index: number): Promise<void> {
    const { chunkBytes } = this.manifest;
    const data = this.options.file.subarray(index * chunkBytes, (index + 1) * chunkBytes);
    this.chunksPublished += 1;
    await this.publish(
      transferChunkTopic(scope, this.transferId, index),
      encodeChunk(this.transferId, index, data),
    );
  }

  private async publish(topic: string, payload: Uint8Array): Promise<void> {
    try {
      await this.transport.publish(topic, payload);
    } catch (error) {
      // The device's `need` (or the manifest re-send) recovers whatever did not get through.
      this.onEvent({ kind: 'publish-failed', topic, error });
    }
  }

  /** Runs `fn` over `items` with at most `window` in flight. */
  private async pool(items: readonly number[], fn: (item: number) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next] as number;
        next += 1;
        await fn(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.window, items.length) }, worker));
  }
}

function checkIdAs(kind: 'fleet' | 'device' | 'cohort', id: string): void {
  try {
    checkId(kind, id);
  } catch (error) {
    throw new UpdateError('BAD_OPTIONS', (error as Error).message, { cause: error });
  }
}
