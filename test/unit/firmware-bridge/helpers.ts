// Test doubles for the bridge server: a fake runtime (windows of N samples, results on demand), a
// manual clock, and an in-memory wire that decodes what the server writes.
import type { AlertEvent, LabelOutcome, LabelSubmission, RuntimeStatus } from '../../../runtime/api.ts';
import {
  PipelineError,
  type SamplesFrame,
  type StreamSpec,
  type WindowResult,
} from '../../../runtime/pipeline/index.ts';
import {
  decodeCbor,
  encodeFrame,
  FrameReader,
  parseServerMessage,
  type ServerMessage,
} from '../../../firmware-bridge/protocol/index.ts';
import type {
  BridgeClock,
  BridgeCore,
  BridgeRuntime,
  Connection,
  Wire,
} from '../../../firmware-bridge/server/index.ts';

export class ManualClock implements BridgeClock {
  now = 1_700_000_000_000;
  mono = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  nowMs(): number {
    return this.now;
  }

  monoMs(): number {
    return this.mono;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.mono + ms, fn, id });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.mono = Math.max(this.mono, due.at);
      this.now += due.at - this.mono;
      due.fn();
    }
    this.now += target - this.mono;
    this.mono = target;
  }
}

/** A wire that records frames; `blocked` makes write() report backpressure like a full socket. */
export class MemoryWire implements Wire {
  readonly label = 'memory';
  readonly frames: ServerMessage[] = [];
  bytes = 0;
  blocked = false;
  paused = false;
  ended = false;
  destroyed = false;
  private readonly reader = new FrameReader(16 * 1024 * 1024);

  write(frame: Uint8Array): boolean {
    this.bytes += frame.length;
    this.reader.push(frame, {
      frame: (payload) => this.frames.push(parseServerMessage(decodeCbor(payload, LOOSE))),
      oversized: () => {
        throw new Error('server wrote an oversized frame');
      },
      corrupt: () => {
        throw new Error('server wrote a corrupt frame');
      },
    });
    return !this.blocked;
  }

  end(): void {
    this.ended = true;
  }

  destroy(): void {
    this.destroyed = true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Frames written since the last call. */
  take(): ServerMessage[] {
    return this.frames.splice(0);
  }

  ofType<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.frames.filter((f): f is Extract<ServerMessage, { type: T }> => f.type === type);
  }
}

const LOOSE = {
  maxDepth: 8,
  maxMapEntries: 64,
  maxArrayItems: 100_000,
  maxTextBytes: 1 << 20,
  maxBytesLength: 1 << 24,
  maxItems: 10_000_000,
};

export interface FakeStream {
  readonly spec: StreamSpec;
  next: number;
  filled: number;
  windowIndex: number;
}

/** Sensor → [rate Hz, channels] the fake runtime has a model for (ppg has none). */
const MODELS: Record<string, readonly [number, number]> = { ecg: [250, 1], accel: [50, 3] };

export class FakeRuntime implements BridgeRuntime {
  readonly deviceId = 'gateway-fake';
  readonly streams = new Map<string, FakeStream>();
  readonly closed: string[] = [];
  readonly labels: LabelSubmission[] = [];
  readonly pushed: SamplesFrame[] = [];
  /** Results waiting for `flush()` when `deferResults` is true. */
  readonly pending: WindowResult[] = [];
  deferResults = false;
  /** Every Nth window raises an alert (0: never). */
  alertEvery = 0;
  /** Report completed windows from pushSamples (the runtime change the bridge asks for). */
  reportWindows = false;
  throwOnPush: Error | null = null;
  private readonly resultListeners = new Set<(r: WindowResult) => void>();
  private readonly alertListeners = new Set<(a: AlertEvent) => void>();
  private readonly known = new Set<string>();
  private readonly labelled = new Set<string>();

  constructor(readonly windowSamples = 100) {}

  openStream(spec: StreamSpec): void {
    const model = MODELS[spec.sensor];
    if (!model) throw new PipelineError('NO_MODEL_FOR_SENSOR', `no model for ${spec.sensor}`);
    if (this.streams.has(spec.streamId)) throw new PipelineError('DUPLICATE_STREAM', 'duplicate');
    if (Math.abs(spec.rateHz / model[0] - 1) > 0.02) throw new PipelineError('RATE_MISMATCH', 'rate');
    if (spec.channelCount !== model[1]) throw new PipelineError('CHANNEL_MISMATCH', 'channels');
    this.streams.set(spec.streamId, { spec, next: -1, filled: 0, windowIndex: 0 });
  }

  closeStream(streamId: string): void {
    this.streams.delete(streamId);
    this.closed.push(streamId);
  }

  pushSamples(frame: SamplesFrame): number | undefined {
    if (this.throwOnPush) throw this.throwOnPush;
    const stream = this.streams.get(frame.streamId);
    if (!stream) throw new PipelineError('UNKNOWN_STREAM', `${frame.streamId} is not open`);
    const length = frame.channels[0]?.length ?? 0;
    if (frame.channels.length !== stream.spec.channelCount) throw new PipelineError('CHANNEL_MISMATCH', 'ch');
    if (length === 0 || frame.channels.some((c) => c.length !== length))
      throw new PipelineError('BAD_FRAME', 'ragged');
    if (stream.next >= 0 && frame.firstCounter < stream.next)
      throw new PipelineError('OUT_OF_ORDER', 'backwards');
    this.pushed.push(frame);
    stream.next = frame.firstCounter + length;
    stream.filled += length;
    let windows = 0;
    while (stream.filled >= this.windowSamples) {
      stream.filled -= this.windowSamples;
      windows += 1;
      this.emit(stream, frame);
    }
    return this.reportWindows ? windows : undefined;
  }

  private emit(stream: FakeStream, frame: SamplesFrame): void {
    const result = fakeResult(stream.spec, stream.windowIndex++, this.windowSamples, frame.timestampMs);
    this.known.add(result.resultId);
    if (this.deferResults) this.pending.push(result);
    else this.deliver(result);
  }

  private deliver(result: WindowResult): void {
    for (const l of this.resultListeners) l(result);
    if (this.alertEvery > 0 && (result.windowIndex + 1) % this.alertEvery === 0) {
      const alert: AlertEvent = {
        kind: 'alert',
        resultId: result.resultId,
        streamId: result.streamId,
        modelFamily: 'fake',
        bundleId: 'fake@1',
        label: 'high',
        atMs: result.endMs,
        source: 'model',
      };
      for (const l of this.alertListeners) l(alert);
    }
  }

  /** Delivers deferred results (all, or the first `n`). */
  flush(n = this.pending.length): void {
    for (const result of this.pending.splice(0, n)) this.deliver(result);
  }

  /** Emits a result for a stream id this runtime never opened (e.g. another front end's). */
  emitForeign(streamId: string): void {
    const spec: StreamSpec = { deviceId: 'x', streamId, sensor: 'ecg', rateHz: 250, channelCount: 1 };
    this.deliver(fakeResult(spec, 0, this.windowSamples, 0));
  }

  onResult(listener: (r: WindowResult) => void): () => void {
    this.resultListeners.add(listener);
    return () => this.resultListeners.delete(listener);
  }

  onAlert(listener: (a: AlertEvent) => void): () => void {
    this.alertListeners.add(listener);
    return () => this.alertListeners.delete(listener);
  }

  get listenerCount(): number {
    return this.resultListeners.size + this.alertListeners.size;
  }

  submitLabel(label: LabelSubmission): LabelOutcome {
    if (!this.known.has(label.resultId)) return { kind: 'unknown-result' };
    if (this.labelled.has(label.resultId)) return { kind: 'duplicate' };
    this.labelled.add(label.resultId);
    this.labels.push(label);
    return { kind: 'accepted' };
  }

  status(): RuntimeStatus {
    return {
      deviceId: this.deviceId,
      runtimeVersion: '0.1.0',
      models: [
        {
          modelFamily: 'fake',
          bundleId: 'fake@1',
          version: '1.0.0',
          sequence: 1,
          sensor: 'ecg',
          backend: 'node',
          candidateBundleId: null,
        },
      ],
      openStreams: this.streams.size,
      frozen: false,
    };
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }
}

export function fakeResult(
  spec: StreamSpec,
  index: number,
  windowSamples: number,
  startMs: number,
): WindowResult {
  return {
    resultId: `${spec.streamId}:${index}:fake`,
    deviceId: spec.deviceId,
    streamId: spec.streamId,
    windowIndex: index,
    firstCounter: index * windowSamples,
    lastCounter: (index + 1) * windowSamples - 1,
    startMs,
    endMs: startMs + 1000,
    cohort: spec.cohort ?? '',
    status: { kind: 'ok', score: 0.25, label: 'normal', positive: false, alert: false },
    provenance: {
      bundleId: 'fake@1',
      modelFamily: 'fake',
      modelVersion: '1.0.0',
      sequence: 1,
      manifestSha256: 'f'.repeat(64),
      thresholdsVersion: 't',
      postprocessingVersion: 'p',
      qualityPolicyVersion: 'q',
      fallbackPolicyVersion: 'f',
      runtimeVersion: '0.1.0',
      backend: 'node',
    },
    latencyMs: 0.5,
    shadow: false,
  };
}

/** Encodes a client message as a frame (what a client would write). */
export function frame(message: object): Buffer {
  return encodeFrame(message, 16 * 1024 * 1024);
}

export function hello(device = 'dev-1', id = 1, versions: number[] = [1]): object {
  return { type: 'hello', id, versions, device, firmware: 'fw-1.0', sensors: [], caps: [] };
}

export function open(stream = 'ecg0', id = 2, extra: object = {}): object {
  return { type: 'open', id, stream, sensor: 'ecg', rateHz: 250, channels: 1, ...extra };
}

export function samples(stream: string, counter: number, n: number, id: number, extra: object = {}): object {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i += 1) data[i] = Math.sin((counter + i) / 10);
  return {
    type: 'samples',
    id,
    stream,
    counter,
    timestampMs: 1e12 + counter * 4,
    rateHz: 250,
    data: [data],
    ...extra,
  };
}

/** A connection that has said hello (and opened `ecg0` unless told otherwise). */
export function connect(
  core: BridgeCore,
  device = 'dev-1',
  openStream = true,
): { wire: MemoryWire; connection: Connection } {
  const wire = new MemoryWire();
  const connection = core.accept(wire);
  if (!connection) throw new Error('connection refused');
  connection.receive(frame(hello(device)));
  if (openStream) connection.receive(frame(open()));
  return { wire, connection };
}
