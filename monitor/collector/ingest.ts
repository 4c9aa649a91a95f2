// The ingest path (docs/collector.md "Ingest"): MQTT message → journal (durable, then acknowledged) →
// queue → batch: classify (decode, size caps, topic/payload agreement, key from the enrolment table) →
// Ed25519 checks in a batch (worker threads) → one store transaction that dedupes by (device, seq),
// stores the signed bytes, updates rollups, device-days, device state, sequence gaps, incidents and
// counters, and deletes the journal rows. Nothing a device sends can stop it: every rejection is a
// counted code, and a failing batch is retried message by message so one bad message cannot block
// the others.
import { createHash } from 'node:crypto';
import { REPORT_OUTBOX_CLASSES, type TelemetryReport } from '../report/index.ts';
import { Aggregate, sameShape, shapeOf, type AggregateShape } from './aggregate.ts';
import { classifyMessage, type AcceptedMessage, type Classified, type RejectCode } from './classify.ts';
import type { EnrolmentTable } from './enrolments.ts';
import { CollectorError } from './errors.ts';
import type { CollectorOptions } from './options.ts';
import type { ProfileCache } from './profiles.ts';
import { SequenceTracker } from './sequence.ts';
import type { SignatureVerifier } from './signatures.ts';
import type { CollectorStore, CollectorWriter } from './store.ts';
import type {
  DeviceDay,
  DeviceRecord,
  Incident,
  IncidentKind,
  ModelInfo,
  RollupKey,
  RollupLevel,
} from './types.ts';

export const DAY_MS = 86_400_000;

export interface IngestLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface IngestDeps {
  readonly store: CollectorStore;
  readonly enrolments: EnrolmentTable;
  readonly profiles: ProfileCache;
  readonly verifier: SignatureVerifier;
  readonly options: CollectorOptions;
  readonly now: () => number;
  /** Only this fleet's messages (null: any). */
  readonly fleet: string | null;
  readonly logger?: IngestLogger;
}

interface Queued {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly receivedMs: number;
  readonly journalId: number | null;
  /** MQTT 5 `vigil-seq` user property: used only for messages that carry no sequence number. */
  readonly seqHint: number | null;
  /** Set when the payload exceeded maxMessageBytes: its size (the bytes were not kept). */
  readonly oversize?: number;
}

export interface RecentRejection {
  readonly atMs: number;
  readonly topic: string;
  readonly device: string | null;
  readonly code: RejectCode;
  readonly detail: string;
}

type Outcome =
  | { readonly kind: 'accepted'; readonly item: Queued; readonly message: AcceptedMessage }
  | {
      readonly kind: 'rejected';
      readonly item: Queued;
      readonly device: string | null;
      readonly code: RejectCode;
      readonly detail: string;
    };

const MAX_RECENT_REJECTIONS = 100;
/** Batches being verified while an earlier one commits (one commits, the others verify). */
const MAX_BATCHES_IN_FLIGHT = 3;

function bucketOf(ms: number, size: number): number {
  return Math.floor(ms / size) * size;
}

function rollupId(level: RollupLevel, k: RollupKey): string {
  return `${level}\u0000${k.manifestSha256}\u0000${k.role}\u0000${k.bucketMs}\u0000${k.cohort}\u0000${k.firmware}\u0000${k.site}`;
}

function evictedTotal(r: TelemetryReport): number {
  let n = 0;
  for (const c of REPORT_OUTBOX_CLASSES) n += r.evicted[c];
  return n;
}

/** Pending writes of one batch, pre-merged so each rollup key is written once per batch. */
class BatchEffects {
  readonly rollups = new Map<string, { level: RollupLevel; key: RollupKey; aggregate: Aggregate }>();
  readonly deviceDays = new Map<string, DeviceDay>();
  readonly counters: Record<string, number> = {};
  readonly journalIds: number[] = [];

  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  addRollup(level: RollupLevel, key: RollupKey, report: TelemetryReport): void {
    const id = rollupId(level, key);
    const hit = this.rollups.get(id);
    if (hit) hit.aggregate.addReport(report);
    else this.rollups.set(id, { level, key, aggregate: Aggregate.ofReport(report) });
  }

  addDeviceDay(d: DeviceDay): void {
    const id = `${d.dayMs}\u0000${d.device}\u0000${d.manifestSha256}\u0000${d.role}\u0000${d.cohort}\u0000${d.firmware}\u0000${d.site}`;
    const hit = this.deviceDays.get(id);
    if (!hit) {
      this.deviceDays.set(id, d);
      return;
    }
    this.deviceDays.set(id, {
      ...hit,
      reports: hit.reports + d.reports,
      coveredMs: hit.coveredMs + d.coveredMs,
      windows: hit.windows + d.windows,
      fallback: hit.fallback + d.fallback,
      alerts: hit.alerts + d.alerts,
      driftAlarmReports: hit.driftAlarmReports + d.driftAlarmReports,
    });
  }
}

type MutableDevice = { -readonly [K in keyof DeviceRecord]: DeviceRecord[K] };

export class Ingestor {
  private readonly queue: Queued[] = [];
  /** Journal rows already queued (recover() must not queue them twice). */
  private readonly queuedIds = new Set<number>();
  private readonly devices = new Map<string, MutableDevice>();
  private readonly trackers = new Map<string, SequenceTracker>();
  private readonly dirtyDevices = new Set<string>();
  private readonly shapes = new Map<string, AggregateShape>();
  private readonly knownModels = new Set<string>();
  /** Last active SUIT sequence per (device, family) and suppression state per (device, bundle). */
  /** Per device and family: the release sequence of its newest active report (by report time). */
  private readonly lastActiveSequence = new Map<string, { sequence: number; endMs: number }>();
  private readonly suppressed = new Set<string>();
  private readonly revoked = new Set<string>();
  private readonly recent: RecentRejection[] = [];
  /** Start of the newest evaluation bucket holding data (device clock). */
  latestBucketMs: number | null = null;
  /** Batches classified and not yet committed, and the chain that commits them in order. */
  private inFlight = 0;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private drainWaiters: (() => void)[] = [];
  private closed = false;
  private processed = 0;

  constructor(private readonly deps: IngestDeps) {
    for (const d of deps.store.devices()) {
      this.devices.set(d.device, { ...d });
      if (d.sequence !== null) this.trackers.set(d.device, SequenceTracker.restore(d.sequence));
    }
    for (const m of deps.store.models()) this.knownModels.add(m.manifestSha256);
    for (const k of deps.store.rollupKeys('bucket')) {
      this.latestBucketMs = Math.max(this.latestBucketMs ?? k.lastBucketMs, k.lastBucketMs);
      const row = deps.store.rollups({
        level: 'bucket',
        manifestSha256: k.manifestSha256,
        role: k.role,
        fromMs: k.lastBucketMs,
        toMs: k.lastBucketMs + 1,
      })[0];
      if (row) this.shapes.set(k.manifestSha256, row.aggregate.shape);
    }
  }

  private journalRetry: NodeJS.Timeout | null = null;

  /** Takes the inbox rows a passing storage failure left behind again in a few seconds. */
  private retryJournalLater(): void {
    if (this.journalRetry !== null || this.closed) return;
    this.journalRetry = setTimeout(() => {
      this.journalRetry = null;
      if (this.closed) return;
      try {
        this.recover();
      } catch (error) {
        this.deps.logger?.warn({ err: String(error) }, 'collector inbox retry failed');
        this.retryJournalLater();
      }
    }, JOURNAL_RETRY_MS);
    this.journalRetry.unref();
  }

  /** Re-queues what the journal holds from before a crash or stop (at-least-once). */
  recover(): number {
    let n = 0;
    for (;;) {
      const entries = this.deps.store.journal(10_000).filter((e) => !this.queuedIds.has(e.id));
      if (entries.length === 0) break;
      for (const e of entries) {
        this.queuedIds.add(e.id);
        this.queue.push({
          topic: e.topic,
          payload: e.payload,
          receivedMs: e.receivedMs,
          journalId: e.id,
          seqHint: e.seqHint,
        });
        n++;
      }
    }
    if (n > 0) this.schedule();
    return n;
  }

  /** Takes one message from the broker (call before acknowledging it). */
  accept(
    topic: string,
    payload: Uint8Array,
    receivedMs = this.deps.now(),
    seqHint: number | null = null,
  ): void {
    if (this.closed) throw new CollectorError('BAD_MESSAGE', 'the collector is stopped');
    if (payload.length > this.deps.options.maxMessageBytes) {
      // Refused before it is copied to the inbox (counted TOO_LARGE when its batch commits).
      this.queue.push({
        topic,
        payload: new Uint8Array(0),
        receivedMs,
        journalId: null,
        seqHint,
        oversize: payload.length,
      });
      this.schedule();
      return;
    }
    let journalId: number | null = null;
    if (this.deps.options.journal) {
      journalId = this.deps.store.journalAppend(topic, payload, receivedMs, seqHint);
      this.queuedIds.add(journalId);
    }
    this.queue.push({ topic, payload, receivedMs, journalId, seqHint });
    this.schedule();
  }

  /** True while more messages are queued than `maxQueuedMessages` (the MQTT reader should wait). */
  get overloaded(): boolean {
    return this.queue.length >= this.deps.options.maxQueuedMessages;
  }

  get queued(): number {
    return this.queue.length;
  }

  get processedCount(): number {
    return this.processed;
  }

  /** Resolves when the queue has room again (or is empty). */
  whenBelowLimit(): Promise<void> {
    if (!this.overloaded) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Resolves once everything accepted so far is committed. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.queue.length > 0) this.pump(true);
      if (this.queue.length === 0 && this.inFlight === 0) return;
      await this.chain;
    }
  }

  recentRejections(): readonly RecentRejection[] {
    return this.recent;
  }

  deviceRecords(): DeviceRecord[] {
    return [...this.devices.values()].map((d) => ({
      ...d,
      sequence: this.trackers.get(d.device)?.snapshot() ?? d.sequence,
    }));
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.queue.length >= this.deps.options.flushMaxMessages) {
      this.pump(false);
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.pump(true);
    }, this.deps.options.flushIntervalMs);
  }

  /**
   * Takes batches off the queue while fewer than MAX_BATCHES_IN_FLIGHT are being processed: each is
   * classified at once (main thread) and its signatures go to the verifier (worker threads) while the
   * previous batches commit, so verification overlaps decoding and storage. Commits stay in order.
   */
  private pump(partial: boolean): void {
    while (this.inFlight < MAX_BATCHES_IN_FLIGHT && this.queue.length > 0) {
      if (!partial && this.queue.length < this.deps.options.flushMaxMessages) break;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      const batch = this.queue.splice(0, this.deps.options.flushMaxMessages);
      this.inFlight++;
      const classified = this.classifyBatch(batch);
      const checks = classified.flatMap((c) => (c.kind === 'signature' ? [c.check] : []));
      const verdicts = this.deps.verifier.verify(checks);
      verdicts.catch(() => undefined); // handled in the chain below
      this.chain = this.chain
        .then(async () => {
          this.process(batch, classified, await verdicts);
        })
        .catch((error: unknown) => {
          this.deps.logger?.warn({ err: String(error) }, 'collector ingest batch failed');
        })
        .finally(() => {
          this.inFlight--;
          if (!this.overloaded) {
            const waiters = this.drainWaiters;
            this.drainWaiters = [];
            for (const w of waiters) w();
          }
          if (this.queue.length > 0) this.schedule();
        });
    }
    if (this.queue.length > 0 && this.inFlight < MAX_BATCHES_IN_FLIGHT) this.schedule();
  }

  private classifyBatch(batch: readonly Queued[]): Classified[] {
    const ctx = {
      fleet: this.deps.fleet,
      lookupKey: this.deps.enrolments.lookup,
      maxBytes: this.deps.options.maxMessageBytes,
      nowMs: this.deps.now(),
      maxClockSkewMs: this.deps.options.maxClockSkewMs,
      maxWindowsPerSecond: this.deps.options.maxWindowsPerSecond,
    };
    return batch.map((item): Classified => {
      if (item.oversize !== undefined) {
        return {
          kind: 'rejected',
          device: null,
          rejection: {
            code: 'TOO_LARGE',
            detail: `${String(item.oversize)} bytes exceed the ${String(ctx.maxBytes)}-byte cap`,
          },
        };
      }
      try {
        return classifyMessage(item.topic, item.payload, ctx);
      } catch (error) {
        return {
          kind: 'rejected',
          device: null,
          rejection: { code: 'MALFORMED', detail: `unexpected decoder failure: ${String(error)}` },
        };
      }
    });
  }

  private process(
    batch: readonly Queued[],
    classified: readonly Classified[],
    verdicts: readonly boolean[],
  ): void {
    let v = 0;
    const outcomes: Outcome[] = classified.map((c, i): Outcome => {
      const item = batch[i] as Queued;
      switch (c.kind) {
        case 'accepted':
          return { kind: 'accepted', item, message: c.message };
        case 'rejected':
          return {
            kind: 'rejected',
            item,
            device: c.device,
            code: c.rejection.code,
            detail: c.rejection.detail,
          };
        case 'signature': {
          const ok = verdicts[v++] === true;
          if (!ok) {
            return {
              kind: 'rejected',
              item,
              device: c.device,
              code: 'BAD_SIGNATURE',
              detail: 'the signature does not verify',
            };
          }
          if (c.ifValid.kind === 'accepted') return { kind: 'accepted', item, message: c.ifValid.message };
          const { code, detail } = c.ifValid.rejection;
          return { kind: 'rejected', item, device: c.device, code, detail };
        }
      }
    });
    try {
      this.commit(outcomes);
    } catch (error) {
      // Retry one by one: a message that makes the store fail is counted and dropped, not retried forever.
      this.deps.logger?.warn({ err: String(error) }, 'collector batch failed; retrying message by message');
      this.reloadDeviceState(outcomes);
      for (const o of outcomes) {
        try {
          this.commit([o]);
        } catch (single) {
          this.deps.logger?.warn({ err: String(single), topic: o.item.topic }, 'collector message failed');
          if (o.item.journalId !== null && isEnvironmental(single)) {
            // Disk full, I/O error, locked: not this message's fault. Its inbox row stays and the
            // message is taken again later (recover), never dropped for a passing condition.
            this.retryJournalLater();
            continue;
          }
          try {
            this.deps.store.write((w) => {
              w.addCounters({ 'rejected.STORE_FAILED': 1 });
            });
            if (o.item.journalId !== null) this.deps.store.deleteJournal([o.item.journalId]);
          } catch (counting) {
            this.deps.logger?.warn({ err: String(counting) }, 'collector could not count a failed message');
          }
        }
      }
    }
    for (const o of outcomes) if (o.item.journalId !== null) this.queuedIds.delete(o.item.journalId);
    this.processed += outcomes.length;
  }

  /** After a failed transaction the in-memory device state may be ahead of the store: reload it. */
  private reloadDeviceState(outcomes: readonly Outcome[]): void {
    for (const o of outcomes) {
      const device = o.kind === 'accepted' ? o.message.device : o.device;
      if (device === null) continue;
      const stored = this.deps.store.device(device);
      if (stored === null) {
        this.devices.delete(device);
        this.trackers.delete(device);
      } else {
        this.devices.set(device, { ...stored });
        if (stored.sequence !== null) this.trackers.set(device, SequenceTracker.restore(stored.sequence));
        else this.trackers.delete(device);
      }
      this.dirtyDevices.delete(device);
    }
    this.knownModels.clear();
    for (const m of this.deps.store.models()) this.knownModels.add(m.manifestSha256);
  }

  private commit(outcomes: readonly Outcome[]): void {
    const fx = new BatchEffects();
    const incidents: Incident[] = [];
    this.deps.store.write((w) => {
      for (const o of outcomes) {
        fx.count('received');
        if (o.item.journalId !== null) fx.journalIds.push(o.item.journalId);
        if (o.kind === 'rejected') {
          this.rejectCount(fx, o.item, o.device, o.code, o.detail);
          continue;
        }
        this.apply(w, fx, incidents, o.item, o.message);
      }
      for (const r of fx.rollups.values()) w.addRollup(r.level, r.key, r.aggregate);
      for (const d of fx.deviceDays.values()) w.addDeviceDay(d);
      for (const i of incidents) w.insertIncident(i);
      for (const id of this.dirtyDevices) {
        const d = this.devices.get(id);
        if (d) w.putDevice({ ...d, sequence: this.trackers.get(id)?.snapshot() ?? null });
      }
      w.addCounters(fx.counters);
    });
    // Only once the main transaction committed: the inbox is another database, and deleting its rows
    // inside the transaction would lose them if the commit then failed.
    this.deps.store.deleteJournal(fx.journalIds);
    this.dirtyDevices.clear();
  }

  private rejectCount(
    fx: BatchEffects,
    item: Queued,
    device: string | null,
    code: RejectCode,
    detail: string,
  ): void {
    fx.count(`rejected.${code}`);
    this.recent.push({
      atMs: item.receivedMs,
      topic: item.topic,
      device,
      code,
      detail: detail.slice(0, 300),
    });
    if (this.recent.length > MAX_RECENT_REJECTIONS) this.recent.shift();
  }

  private device(fleet: string, id: string): MutableDevice {
    let d = this.devices.get(id);
    if (d === undefined) {
      d = newDeviceRecord(fleet, id);
      this.devices.set(id, d);
    }
    this.dirtyDevices.add(id);
    return d;
  }

  private tracker(id: string): SequenceTracker {
    let t = this.trackers.get(id);
    if (t === undefined) {
      t = new SequenceTracker();
      this.trackers.set(id, t);
    }
    return t;
  }

  /** Stores a sequenced message; false when it is a duplicate (then nothing else is done with it). */
  private sequenced(
    w: CollectorWriter,
    fx: BatchEffects,
    incidents: Incident[],
    item: Queued,
    m: { fleet: string; device: string; seq: number; kid: string },
    kind: 'report' | 'drift-event' | 'safety-event' | 'checkpoint' | 'update-status',
    createdMs: number,
  ): boolean {
    const inserted = w.insertMessage({
      device: m.device,
      seq: m.seq,
      kind,
      fleet: m.fleet,
      receivedMs: item.receivedMs,
      createdMs,
      kid: m.kid,
      payload: item.payload,
    });
    if (!inserted) {
      const held = this.deps.store.messagePayload(m.device, m.seq);
      if (held !== null && !bytesEqual(held, item.payload)) {
        // Same sequence number, other signed bytes: the device (or its key) is broken or
        // compromised. The first message stays the evidence; the second is kept in the incident.
        fx.count('conflicts');
        incidents.push({
          atMs: item.receivedMs,
          device: m.device,
          kind: 'equivocation',
          source: 'inferred',
          family: null,
          manifestSha256: null,
          summary: `two different ${kind} messages signed with sequence number ${String(m.seq)} (key ${m.kid})`,
          detail: {
            seq: m.seq,
            kid: m.kid,
            heldSha256: sha256Hex(held),
            conflictingSha256: sha256Hex(item.payload),
            conflictingPayloadBase64: Buffer.from(item.payload).toString('base64'),
          },
          seq: m.seq,
        });
        return false;
      }
      fx.count('duplicates');
      return false;
    }
    const obs = this.tracker(m.device).observe(m.seq, this.deps.now());
    if (obs.kind === 'jump') {
      fx.count('seqJumps');
      incidents.push({
        atMs: item.receivedMs,
        device: m.device,
        kind: 'other',
        source: 'inferred',
        family: null,
        manifestSha256: null,
        summary: `sequence number ${String(m.seq)} is ${String(obs.ahead)} past the device's highest: not counted as a gap`,
        detail: { seq: m.seq, ahead: obs.ahead, kid: m.kid },
        seq: m.seq,
      });
    }
    if (obs.kind === 'late') fx.count('late');
    if (obs.kind === 'new' && obs.opened > 0) fx.count('gapsOpened', obs.opened);
    fx.count(`accepted.${kind}`);
    return true;
  }

  private apply(
    w: CollectorWriter,
    fx: BatchEffects,
    incidents: Incident[],
    item: Queued,
    m: AcceptedMessage,
  ): void {
    switch (m.kind) {
      case 'state': {
        const { state } = m;
        if (!this.deps.enrolments.isActive(m.fleet, m.device)) {
          const code: RejectCode = this.deps.enrolments.isRetired(m.fleet, m.device)
            ? 'RETIRED_DEVICE'
            : 'UNKNOWN_DEVICE';
          this.rejectCount(
            fx,
            item,
            m.device,
            code,
            'state message from a device without an active enrolment',
          );
          return;
        }
        const d = this.device(m.fleet, m.device);
        // Sparkplug rule: a death older than the last birth is stale (docs/telemetry.md).
        if (d.bdSeq !== null && state.bdSeq < d.bdSeq) {
          fx.count('staleState');
          return;
        }
        d.online = state.online ? 'online' : 'offline';
        d.bdSeq = state.bdSeq;
        d.stateAtMs = state.at ?? item.receivedMs;
        d.lastSeenMs = Math.max(d.lastSeenMs ?? 0, item.receivedMs);
        if (state.cohort !== undefined && d.cohort === null) d.cohort = state.cohort;
        fx.count('accepted.state');
        return;
      }
      case 'report':
        this.applyReport(w, fx, incidents, item, m);
        return;
      case 'drift-event': {
        if (!this.sequenced(w, fx, incidents, item, m, 'drift-event', m.event.createdMs)) return;
        const e = m.event;
        this.touch(m.fleet, m.device, item.receivedMs);
        incidents.push({
          atMs: e.atMs,
          device: m.device,
          kind: 'drift-alarm',
          source: 'device',
          family: e.model.family,
          manifestSha256: e.model.manifestSha256,
          summary: `${e.kind} on ${e.model.bundleId} (${e.role}, cohort ${e.cohort || '—'}): device action ${e.action}`,
          detail: {
            kind: e.kind,
            action: e.action,
            direction: e.direction,
            interval: e.interval,
            flags: e.flags,
          },
          seq: e.seq,
        });
        return;
      }
      case 'safety-event': {
        if (!this.sequenced(w, fx, incidents, item, m, 'safety-event', m.event.atMs)) return;
        const e = m.event;
        this.touch(m.fleet, m.device, item.receivedMs);
        const kind: IncidentKind = e.type;
        incidents.push({
          atMs: e.atMs,
          device: m.device,
          kind,
          source: 'device',
          family: e.family,
          manifestSha256: e.manifestSha256,
          summary: `${e.type}${e.bundleId ? ` of ${e.bundleId}` : ''}${e.detail ? `: ${e.detail}` : ''}`,
          detail: { type: e.type, bundleId: e.bundleId, detail: e.detail },
          seq: e.seq,
        });
        return;
      }
      case 'checkpoint':
        this.applyCheckpoint(w, fx, incidents, item, m);
        return;
      case 'update-status': {
        if (!this.sequenced(w, fx, incidents, item, m, 'update-status', m.status.at)) return;
        this.touch(m.fleet, m.device, item.receivedMs);
        if (m.status.status === 'rejected') {
          incidents.push({
            atMs: m.status.at,
            device: m.device,
            kind: 'update-rejected',
            source: 'device',
            family: null,
            manifestSha256: null,
            summary: `update ${m.status.transferId} rejected: ${m.status.code ?? '?'}`,
            detail: {
              transferId: m.status.transferId,
              code: m.status.code ?? null,
              detail: m.status.detail ?? null,
            },
            seq: m.status.seq,
          });
        }
        return;
      }
    }
  }

  private touch(fleet: string, device: string, atMs: number): MutableDevice {
    const d = this.device(fleet, device);
    d.lastSeenMs = Math.max(d.lastSeenMs ?? 0, atMs);
    return d;
  }

  private applyReport(
    w: CollectorWriter,
    fx: BatchEffects,
    incidents: Incident[],
    item: Queued,
    m: Extract<AcceptedMessage, { kind: 'report' }>,
  ): void {
    const r = m.report;
    const model = r.model;
    // The counts must fit the profile the report names (docs/telemetry-reports.md, last paragraph of
    // "Invariants"), or, before that profile is known, the layout this model version already has.
    const shape = shapeOf(r);
    const prepared = this.deps.profiles.get(model.profileSha256);
    const expected = prepared?.shape ?? this.shapes.get(model.manifestSha256);
    if (expected !== undefined && !sameShape(expected, shape)) {
      this.rejectCount(
        fx,
        item,
        m.device,
        'PROFILE_MISMATCH',
        `counts do not fit profile ${model.profileSha256}`,
      );
      return;
    }
    if (!this.sequenced(w, fx, incidents, item, m, 'report', r.createdMs)) return;
    this.shapes.set(model.manifestSha256, shape);
    const site = this.deps.enrolments.site(m.fleet, m.device);
    const bucketMs = this.deps.options.bucketMs;
    const key = {
      manifestSha256: model.manifestSha256,
      role: r.role,
      cohort: r.cohort,
      firmware: r.firmwareVersion,
      site,
    };
    const bucket = bucketOf(r.startMs, bucketMs);
    fx.addRollup('bucket', { ...key, bucketMs: bucket }, r);
    this.latestBucketMs = Math.max(this.latestBucketMs ?? bucket, bucket);
    if (bucketMs < DAY_MS) fx.addRollup('day', { ...key, bucketMs: bucketOf(r.startMs, DAY_MS) }, r);
    const windows = r.windows.ok + r.windows.indeterminate + r.windows.fallback;
    w.insertReport({
      device: m.device,
      seq: r.seq,
      startMs: r.startMs,
      endMs: r.endMs,
      ...key,
      windows,
      fallback: r.windows.fallback,
      driftAlarm: r.drift.alarm,
    });
    fx.addDeviceDay({
      dayMs: bucketOf(r.startMs, DAY_MS),
      device: m.device,
      ...key,
      reports: 1,
      coveredMs: r.endMs - r.startMs,
      windows,
      fallback: r.windows.fallback,
      alerts: r.alerts.model + r.alerts.fallbackRule,
      driftAlarmReports: r.drift.alarm ? 1 : 0,
    });
    if (!this.knownModels.has(model.manifestSha256)) {
      this.knownModels.add(model.manifestSha256);
      const info: ModelInfo = {
        manifestSha256: model.manifestSha256,
        profileSha256: model.profileSha256,
        family: model.family,
        bundleId: model.bundleId,
        version: model.version,
        sequence: model.sequence,
        operatingThreshold: null,
        indeterminateLow: null,
        statistics: r.drift.statistics.length > 0 ? [...r.drift.statistics] : null,
        reportIntervalS: null,
        intendedUse: null,
        positiveLabel: null,
        source: 'report',
        verification: null,
        registeredMs: item.receivedMs,
      };
      w.upsertModel(info);
    }
    const d = this.touch(m.fleet, m.device, item.receivedMs);
    d.reports += 1;
    if (r.role === 'active' && (d.lastReportEndMs === null || r.endMs >= d.lastReportEndMs)) {
      d.lastReportMs = item.receivedMs;
      d.lastReportEndMs = r.endMs;
      d.manifestSha256 = model.manifestSha256;
      d.modelLabel = `${model.family} ${model.version}`;
      d.cohort = r.cohort;
      d.firmware = r.firmwareVersion;
      d.runtime = r.runtimeVersion;
    }
    this.tracker(m.device).explainEvictions(evictedTotal(r), this.deps.now());
    this.inferIncidents(incidents, m.device, r);
  }

  /** Incidents the collector can infer from reports alone (docs/collector.md "Incidents"). */
  private inferIncidents(incidents: Incident[], device: string, r: TelemetryReport): void {
    const model = r.model;
    const base = {
      device,
      source: 'inferred' as const,
      family: model.family,
      manifestSha256: model.manifestSha256,
      seq: r.seq,
    };
    if (r.role === 'active') {
      const k = `${device}\u0000${model.family}`;
      const last = this.lastActiveSequence.get(k);
      // Judged in report time: a late redelivery of a report from before an upgrade is not a rollback.
      if (last === undefined || r.endMs > last.endMs) {
        if (last !== undefined && model.sequence < last.sequence) {
          incidents.push({
            ...base,
            atMs: r.startMs,
            kind: 'rollback',
            summary: `${model.family} went from sequence ${last.sequence} back to ${model.bundleId} (sequence ${model.sequence})`,
            detail: { fromSequence: last.sequence, toSequence: model.sequence, toBundleId: model.bundleId },
          });
        }
        this.lastActiveSequence.set(k, { sequence: model.sequence, endMs: r.endMs });
      }
    }
    const bundleKey = `${device}\u0000${model.manifestSha256}\u0000${r.role}`;
    if (r.suppressedSinceMs !== null && !this.suppressed.has(bundleKey)) {
      this.suppressed.add(bundleKey);
      incidents.push({
        ...base,
        atMs: r.suppressedSinceMs,
        kind: 'suppression',
        summary: `outputs of ${model.bundleId} suppressed by the drift policy since ${new Date(r.suppressedSinceMs).toISOString()}`,
        detail: { sinceMs: r.suppressedSinceMs, cohort: r.cohort },
      });
    } else if (r.suppressedSinceMs === null) this.suppressed.delete(bundleKey);
    const revokedWindows = r.fallbackReasons.MODEL_REVOKED ?? 0;
    if (revokedWindows > 0 && !this.revoked.has(bundleKey)) {
      this.revoked.add(bundleKey);
      incidents.push({
        ...base,
        atMs: r.startMs,
        kind: 'revocation',
        summary: `${model.bundleId} answered by its fallback because it is revoked (${revokedWindows} windows)`,
        detail: { windows: revokedWindows },
      });
    }
  }

  private applyCheckpoint(
    w: CollectorWriter,
    fx: BatchEffects,
    incidents: Incident[],
    item: Queued,
    m: Extract<AcceptedMessage, { kind: 'checkpoint' }>,
  ): void {
    const c = m.checkpoint;
    if (m.seq !== null && !this.sequenced(w, fx, incidents, item, { ...m, seq: m.seq }, 'checkpoint', c.atMs))
      return;
    const history = this.deps.store.checkpoints(m.device, 1000);
    const inserted = w.insertCheckpoint({
      device: m.device,
      count: c.count,
      headHash: c.headHash,
      atMs: c.atMs,
      receivedMs: item.receivedMs,
      kid: m.kid,
      signed: item.payload,
    });
    if (!inserted) {
      if (m.seq === null) fx.count('duplicates');
      return;
    }
    if (m.seq === null) {
      fx.count('accepted.checkpoint');
      // Checkpoints carry no sequence number (docs/audit.md): the outbox's, from the MQTT 5 user
      // property, keeps them out of the gap count. Only after the checkpoint itself was new.
      if (item.seqHint !== null) this.tracker(m.device).observe(item.seqHint, this.deps.now());
    }
    this.touch(m.fleet, m.device, item.receivedMs);
    // Chain continuity: counts and heads only move forward (docs/collector.md "Audit checkpoints").
    const sameCount = history.find((h) => h.count === c.count && h.headHash !== c.headHash);
    const newer = history.find((h) => h.count > c.count && h.atMs <= c.atMs);
    const finding = (summary: string, detail: Record<string, unknown>): void => {
      fx.count('auditFindings');
      incidents.push({
        atMs: c.atMs,
        device: m.device,
        kind: 'audit-chain',
        source: 'inferred',
        family: null,
        manifestSha256: null,
        summary,
        detail,
        seq: m.seq,
      });
    };
    if (sameCount !== undefined) {
      finding(`audit log forked: two different heads at record ${c.count}`, {
        count: c.count,
        heads: [sameCount.headHash, c.headHash],
      });
    } else if (newer !== undefined) {
      finding(`audit log went backwards: record count ${c.count} after ${newer.count} was checkpointed`, {
        count: c.count,
        previousCount: newer.count,
        previousAtMs: newer.atMs,
      });
    }
  }

  /** Declares old pending gaps lost (the evaluator's tick calls this). */
  sweepGaps(nowMs: number): number {
    let lost = 0;
    const changed: string[] = [];
    for (const [id, t] of this.trackers) {
      const n = t.sweep(nowMs, this.deps.options.gapLostAfterMs);
      if (n > 0) {
        lost += n;
        changed.push(id);
      }
    }
    if (changed.length > 0) {
      this.deps.store.write((w) => {
        for (const id of changed) {
          const d = this.devices.get(id);
          if (d) w.putDevice({ ...d, sequence: this.trackers.get(id)?.snapshot() ?? null });
        }
        w.addCounters({ gapsLost: lost });
      });
    }
    return lost;
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.journalRetry) clearTimeout(this.journalRetry);
    this.journalRetry = null;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const JOURNAL_RETRY_MS = 5000;

/** SQLite failures of the environment (space, I/O, locks), not of one message. */
function isEnvironmental(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' && /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|NOMEM|PROTOCOL)/.test(code)
  );
}

/** A device the collector knows of but has heard nothing from yet. */
export function newDeviceRecord(fleet: string, device: string): DeviceRecord {
  return {
    fleet,
    device,
    online: 'unknown',
    bdSeq: null,
    stateAtMs: null,
    lastSeenMs: null,
    lastReportMs: null,
    lastReportEndMs: null,
    manifestSha256: null,
    modelLabel: null,
    cohort: null,
    firmware: null,
    runtime: null,
    reports: 0,
    sequence: null,
  };
}
