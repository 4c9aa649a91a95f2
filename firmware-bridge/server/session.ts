// A device's session: its streams, and one bounded FIFO of results and alerts waiting for the device.
// The session outlives a connection (docs/firmware-bridge.md, "Reconnect and resume"): while the
// device is away its results queue here; when the FIFO is full the oldest result (alerts last) is
// dropped and counted per stream, and the counts are reported — never a silent drop.
import type { AlertEvent } from '../../runtime/api.ts';
import type { WindowResult } from '../../runtime/pipeline/index.ts';
import type {
  HelloMessage,
  SensorDecl,
  SensorKind,
  SessionCounters,
  StreamCounters,
  StreamLoss,
  StreamState,
} from '../protocol/index.ts';

export type Outgoing =
  | { readonly kind: 'result'; readonly seq: number; readonly stream: string; readonly result: WindowResult }
  | { readonly kind: 'alert'; readonly seq: number; readonly stream: string; readonly alert: AlertEvent };

interface MutableLoss {
  results: number;
  alerts: number;
  firstWindow: number | null;
  lastWindow: number | null;
}

/** Per-stream counts of what was dropped, drained into `missed` / `overload` frames. */
export class LossTracker {
  private readonly byStream = new Map<string, MutableLoss>();

  get isEmpty(): boolean {
    return this.byStream.size === 0;
  }

  add(item: Outgoing): void {
    let loss = this.byStream.get(item.stream);
    if (!loss) {
      loss = { results: 0, alerts: 0, firstWindow: null, lastWindow: null };
      this.byStream.set(item.stream, loss);
    }
    if (item.kind === 'alert') {
      loss.alerts += 1;
      return;
    }
    loss.results += 1;
    const w = item.result.windowIndex;
    loss.firstWindow = loss.firstWindow === null ? w : Math.min(loss.firstWindow, w);
    loss.lastWindow = loss.lastWindow === null ? w : Math.max(loss.lastWindow, w);
  }

  mergeFrom(other: LossTracker): void {
    for (const [stream, loss] of other.byStream) {
      const mine = this.byStream.get(stream);
      if (!mine) {
        this.byStream.set(stream, { ...loss });
        continue;
      }
      mine.results += loss.results;
      mine.alerts += loss.alerts;
      for (const w of [loss.firstWindow, loss.lastWindow]) {
        if (w === null) continue;
        mine.firstWindow = mine.firstWindow === null ? w : Math.min(mine.firstWindow, w);
        mine.lastWindow = mine.lastWindow === null ? w : Math.max(mine.lastWindow, w);
      }
    }
    other.byStream.clear();
  }

  /** The losses so far, and resets. Sorted by stream id for stable frames. */
  take(): { streams: StreamLoss[]; count: number } {
    const streams = [...this.byStream.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([stream, loss]) => ({ stream, ...loss }));
    this.byStream.clear();
    return { streams, count: streams.reduce((sum, s) => sum + s.results + s.alerts, 0) };
  }
}

export interface SessionStream {
  readonly stream: string;
  /** The runtime's stream id: `device/stream`. */
  readonly runtimeId: string;
  readonly sensor: SensorKind;
  readonly rateHz: number;
  readonly channels: number;
  readonly cohort: string | undefined;
  next: number | null;
  frames: number;
  samples: number;
  rejected: number;
  results: number;
}

/** What a session needs from the connection it is attached to. */
export interface SessionPeer {
  /** New items are waiting in the FIFO. */
  itemsQueued(): void;
  /** The device said hello on another connection: this one must go. */
  superseded(): void;
}

export class Session {
  firmware: string;
  sensors: readonly SensorDecl[];
  caps: readonly string[];
  readonly streams = new Map<string, SessionStream>();
  peer: SessionPeer | null = null;
  /** Pending expiry while detached (opaque timer handle). */
  expiry: unknown = null;
  /** Drops while a connection was attached (reported in `overload`) and while detached (`missed`). */
  readonly liveLoss = new LossTracker();
  readonly detachedLoss = new LossTracker();
  /** Windows handed to the runtime without a result yet (only when the runtime reports windows). */
  windowsInFlight = 0;
  lastProgressMonoMs = 0;
  readonly counters = {
    framesIn: 0,
    samplesIn: 0,
    framesRejected: 0,
    creditExceeded: 0,
    resultsDelivered: 0,
    resultsDropped: 0,
    alertsDelivered: 0,
    alertsDropped: 0,
    resumes: 0,
  };
  private items: Outgoing[] = [];
  private head = 0;
  private seq = 0;

  constructor(
    readonly device: string,
    hello: HelloMessage,
    private readonly capacity: number,
  ) {
    this.firmware = hello.firmware;
    this.sensors = hello.sensors;
    this.caps = hello.caps;
  }

  get queued(): number {
    return this.items.length - this.head;
  }

  /** Appends a result or alert; when the FIFO is full, drops the oldest result (or, if none, alert). */
  enqueue(
    item:
      | { kind: 'result'; stream: string; result: WindowResult }
      | { kind: 'alert'; stream: string; alert: AlertEvent },
  ): void {
    this.seq += 1;
    const entry: Outgoing =
      item.kind === 'result'
        ? { kind: 'result', seq: this.seq, stream: item.stream, result: item.result }
        : { kind: 'alert', seq: this.seq, stream: item.stream, alert: item.alert };
    this.items.push(entry);
    while (this.queued > this.capacity) this.dropOldest();
    this.peer?.itemsQueued();
  }

  peek(): Outgoing | undefined {
    return this.items[this.head];
  }

  shift(): Outgoing | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head += 1;
    if (this.head > 256 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  private dropOldest(): void {
    let index = this.head;
    while (index < this.items.length && this.items[index]?.kind !== 'result') index += 1;
    if (index === this.items.length) index = this.head; // only alerts left: the oldest alert goes
    const [dropped] = this.items.splice(index, 1);
    if (!dropped) return;
    if (dropped.kind === 'result') this.counters.resultsDropped += 1;
    else this.counters.alertsDropped += 1;
    (this.peer ? this.liveLoss : this.detachedLoss).add(dropped);
  }

  /** Detaches from the connection; unreported live drops are reported as missed on resume. */
  detach(): void {
    this.peer = null;
    this.detachedLoss.mergeFrom(this.liveLoss);
  }

  streamStates(): StreamState[] {
    return [...this.streams.values()].map((s) => ({
      stream: s.stream,
      sensor: s.sensor,
      rateHz: s.rateHz,
      channels: s.channels,
      ...(s.cohort !== undefined ? { cohort: s.cohort } : {}),
      next: s.next,
    }));
  }

  streamCounters(): StreamCounters[] {
    return [...this.streams.values()].map((s) => ({
      stream: s.stream,
      sensor: s.sensor,
      rateHz: s.rateHz,
      channels: s.channels,
      next: s.next,
      frames: s.frames,
      samples: s.samples,
      rejected: s.rejected,
      results: s.results,
    }));
  }

  sessionCounters(): SessionCounters {
    return { ...this.counters };
  }
}
