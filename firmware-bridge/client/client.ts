// The TypeScript bridge client (used by the simulator and the demo). It speaks the same frames as the
// C client: hello with version negotiation, streams, samples under credit, results and alerts pushed
// by the runtime. When the connection drops it reconnects with backoff, says hello again (same device
// id, so the runtime resumes the session) and re-opens its streams; samples sent meanwhile wait in a
// bounded queue.
import {
  BridgeError,
  DEFAULT_CBOR_LIMITS,
  decodeCbor,
  encodeFrame,
  encodeSamplesFrame,
  FrameReader,
  parseServerMessage,
  PROTOCOL_VERSIONS,
  type AlertMessage,
  type CborLimits,
  type ErrorMessage,
  type HelloAckMessage,
  type LabelAckMessage,
  type LabelMessage,
  type MissedMessage,
  type OpenAckMessage,
  type OverloadMessage,
  type ResultMessage,
  type SamplesMessage,
  type SensorDecl,
  type SensorKind,
  type ServerMessage,
  type StatusAckMessage,
} from '../protocol/index.ts';
import { Backoff, DEFAULT_RECONNECT, type ReconnectOptions } from './backoff.ts';
import { openPipe, type ClientPipe, type ClientTransport } from './transport.ts';

export interface ClientStreamSpec {
  readonly stream: string;
  readonly sensor: SensorKind;
  readonly rateHz: number;
  readonly channels: number;
  readonly cohort?: string;
}

export interface ClientSamples {
  readonly stream: string;
  readonly counter: number;
  readonly timestampMs: number;
  readonly rateHz?: number;
  /** float32 in the physical unit, or int16 with `scale` (physical = raw × scale). */
  readonly channels: readonly (Float32Array | Int16Array)[];
  readonly scale?: readonly number[];
  readonly flags?: Uint8Array;
}

export interface ClientClock {
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  monoMs(): number;
}

const REAL_CLIENT_CLOCK: ClientClock = {
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
  monoMs: () => performance.now(),
};

export interface BridgeClientOptions {
  readonly transport: ClientTransport;
  readonly device: string;
  readonly firmware: string;
  readonly sensors?: readonly SensorDecl[];
  readonly caps?: readonly string[];
  readonly versions?: readonly number[];
  /** false: a dropped connection closes the client. */
  readonly reconnect?: Partial<ReconnectOptions> | false;
  readonly requestTimeoutMs?: number;
  /** Samples frames waiting for credit or for the connection; beyond, sendSamples rejects QUEUE_FULL. */
  readonly maxQueuedFrames?: number;
  /** Largest frame accepted from the server. */
  readonly maxFrameBytes?: number;
  readonly clock?: ClientClock;
}

export type ClientState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface ClientCounters {
  framesSent: number;
  samplesSent: number;
  resultsReceived: number;
  alertsReceived: number;
  errorsReceived: number;
  overloads: number;
  /** Results and alerts the server reported as not delivered (missed or dropped). */
  reportedLost: number;
  /** Sequence numbers never seen (should equal reportedLost). */
  sequenceGaps: number;
  reconnects: number;
  creditWaits: number;
}

export interface ErrorContext {
  readonly re?: number;
  readonly stream?: string;
  readonly fatal: boolean;
}

interface PendingRequest {
  readonly expect: ServerMessage['type'];
  readonly resolve: (message: ServerMessage) => void;
  readonly reject: (error: BridgeError) => void;
  readonly timer: unknown;
}

interface QueuedFrame {
  readonly frame: Buffer;
  readonly samples: number;
  readonly resolve: () => void;
  readonly reject: (error: BridgeError) => void;
}

const CLIENT_CBOR_LIMITS: CborLimits = {
  ...DEFAULT_CBOR_LIMITS,
  maxDepth: 8,
  maxArrayItems: 4096,
  maxMapEntries: 64,
  maxTextBytes: 64 * 1024,
  maxItems: 1_000_000,
};

/** Fatal server errors after which reconnecting would make things worse. */
const NO_RECONNECT = new Set(['SESSION_TAKEN_OVER', 'VERSION_UNSUPPORTED']);

export class BridgeClient {
  private stateValue: ClientState = 'connecting';
  private pipe: ClientPipe | null = null;
  private reader: FrameReader;
  private writable = true;
  private credits = 0;
  private nextId = 1;
  private ack: HelloAckMessage | null = null;
  private lastSeq = 0;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly queue: QueuedFrame[] = [];
  private readonly streams = new Map<string, ClientStreamSpec>();
  private readonly listeners = {
    result: new Set<(m: ResultMessage) => void>(),
    alert: new Set<(m: AlertMessage) => void>(),
    error: new Set<(e: BridgeError, c: ErrorContext) => void>(),
    overload: new Set<(m: OverloadMessage) => void>(),
    missed: new Set<(m: MissedMessage) => void>(),
    state: new Set<(s: ClientState) => void>(),
  };
  private readyWaiters: { resolve: () => void; reject: (e: BridgeError) => void }[] = [];
  private readonly backoff: Backoff | null;
  private readonly clock: ClientClock;
  private readonly requestTimeoutMs: number;
  private readonly maxQueuedFrames: number;
  private readonly maxFrameBytes: number;
  private reconnectTimer: unknown = null;
  private attempt = 0;
  private noReconnect = false;
  private finalError: BridgeError | null = null;
  readonly counters: ClientCounters = {
    framesSent: 0,
    samplesSent: 0,
    resultsReceived: 0,
    alertsReceived: 0,
    errorsReceived: 0,
    overloads: 0,
    reportedLost: 0,
    sequenceGaps: 0,
    reconnects: 0,
    creditWaits: 0,
  };

  private constructor(private readonly options: BridgeClientOptions) {
    this.clock = options.clock ?? REAL_CLIENT_CLOCK;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.maxQueuedFrames = options.maxQueuedFrames ?? 256;
    this.maxFrameBytes = options.maxFrameBytes ?? 4 * 1024 * 1024;
    this.backoff =
      options.reconnect === false ? null : new Backoff({ ...DEFAULT_RECONNECT, ...options.reconnect });
    this.reader = new FrameReader(this.maxFrameBytes);
  }

  /** Connects and says hello; resolves once the runtime accepted it (retrying with backoff if enabled). */
  static async connect(options: BridgeClientOptions): Promise<BridgeClient> {
    const client = new BridgeClient(options);
    const ready = client.whenReady(Number.POSITIVE_INFINITY);
    void client.dial();
    await ready;
    return client;
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** The last hello-ack (limits, resumed streams). */
  get session(): HelloAckMessage | null {
    return this.ack;
  }

  /** Samples frames the client may send right now. */
  get creditBalance(): number {
    return this.credits;
  }

  get queuedFrames(): number {
    return this.queue.length;
  }

  // ------------------------------------------------------------------ listeners

  onResult(listener: (message: ResultMessage) => void): () => void {
    return this.subscribe(this.listeners.result, listener);
  }

  onAlert(listener: (message: AlertMessage) => void): () => void {
    return this.subscribe(this.listeners.alert, listener);
  }

  /** Server `error` frames that answer no pending request (e.g. a refused samples frame), and local failures. */
  onError(listener: (error: BridgeError, context: ErrorContext) => void): () => void {
    return this.subscribe(this.listeners.error, listener);
  }

  onOverload(listener: (message: OverloadMessage) => void): () => void {
    return this.subscribe(this.listeners.overload, listener);
  }

  onMissed(listener: (message: MissedMessage) => void): () => void {
    return this.subscribe(this.listeners.missed, listener);
  }

  onState(listener: (state: ClientState) => void): () => void {
    return this.subscribe(this.listeners.state, listener);
  }

  private subscribe<T>(set: Set<T>, listener: T): () => void {
    set.add(listener);
    return () => set.delete(listener);
  }

  // ------------------------------------------------------------------ requests

  async openStream(spec: ClientStreamSpec): Promise<OpenAckMessage> {
    const ack = (await this.request('open-ack', (id) => ({
      type: 'open',
      id,
      stream: spec.stream,
      sensor: spec.sensor,
      rateHz: spec.rateHz,
      channels: spec.channels,
      ...(spec.cohort !== undefined ? { cohort: spec.cohort } : {}),
    }))) as OpenAckMessage;
    this.streams.set(spec.stream, spec);
    return ack;
  }

  async closeStream(stream: string): Promise<void> {
    this.streams.delete(stream);
    await this.request('close-ack', (id) => ({ type: 'close', id, stream }));
  }

  async label(
    result: string,
    value: 0 | 1,
    source: LabelMessage['source'],
  ): Promise<LabelAckMessage['outcome']> {
    const ack = (await this.request('label-ack', (id) => ({
      type: 'label',
      id,
      result,
      value,
      source,
    }))) as LabelAckMessage;
    return ack.outcome;
  }

  async status(): Promise<StatusAckMessage> {
    return (await this.request('status-ack', (id) => ({ type: 'status', id }))) as StatusAckMessage;
  }

  /** Round-trip time in ms. */
  async ping(): Promise<number> {
    const start = this.clock.monoMs();
    await this.request('pong', (id) => ({ type: 'ping', id }));
    return this.clock.monoMs() - start;
  }

  /**
   * Sends one samples frame. Resolves when the frame is handed to the connection (at once when credit
   * is available, otherwise when the server grants more); rejects QUEUE_FULL when the bounded queue of
   * waiting frames is full, UNKNOWN_STREAM for a stream this client has not opened, CLOSED after close.
   */
  sendSamples(samples: ClientSamples): Promise<void> {
    if (this.stateValue === 'closed') return Promise.reject(this.closedError());
    if (!this.streams.has(samples.stream)) {
      return Promise.reject(new BridgeError('UNKNOWN_STREAM', `stream ${samples.stream} is not open`));
    }
    const message: SamplesMessage = {
      type: 'samples',
      id: this.nextId++,
      stream: samples.stream,
      counter: samples.counter,
      timestampMs: samples.timestampMs,
      ...(samples.rateHz !== undefined ? { rateHz: samples.rateHz } : {}),
      data: samples.channels,
      ...(samples.scale !== undefined ? { scale: samples.scale } : {}),
      ...(samples.flags !== undefined ? { flags: samples.flags } : {}),
    };
    let frame: Buffer;
    try {
      frame = encodeSamplesFrame(message, this.ack?.limits.maxFrameBytes ?? this.maxFrameBytes);
    } catch (error) {
      return Promise.reject(
        error instanceof BridgeError ? error : new BridgeError('PROTOCOL', String(error)),
      );
    }
    const count = samples.channels[0]?.length ?? 0;
    if (this.canSend() && this.queue.length === 0) {
      this.sendFrame(frame, count);
      return Promise.resolve();
    }
    if (this.queue.length >= this.maxQueuedFrames) {
      return Promise.reject(
        new BridgeError(
          'QUEUE_FULL',
          `${this.queue.length} samples frames already wait for credit or connection`,
        ),
      );
    }
    if (this.stateValue === 'ready' && this.credits <= 0) this.counters.creditWaits += 1;
    return new Promise((resolve, reject) => {
      this.queue.push({ frame, samples: count, resolve, reject });
    });
  }

  /** Closes the connection; pending requests and queued frames reject with CLOSED. */
  close(): Promise<void> {
    if (this.stateValue === 'closed') return Promise.resolve();
    this.shutdown(new BridgeError('CLOSED', 'the client was closed'));
    return Promise.resolve();
  }

  // ------------------------------------------------------------------ internals

  private canSend(): boolean {
    return this.stateValue === 'ready' && this.writable && this.credits > 0;
  }

  private sendFrame(frame: Buffer, samples: number): void {
    this.credits -= 1;
    this.counters.samplesSent += samples;
    this.write(frame);
  }

  private write(frame: Buffer): void {
    if (!this.pipe) return;
    this.counters.framesSent += 1;
    if (!this.pipe.write(frame)) this.writable = false;
  }

  private flushQueue(): void {
    while (this.canSend()) {
      const item = this.queue.shift();
      if (!item) return;
      this.sendFrame(item.frame, item.samples);
      item.resolve();
    }
  }

  private closedError(): BridgeError {
    return this.finalError ?? new BridgeError('CLOSED', 'the client is closed');
  }

  private whenReady(timeoutMs: number): Promise<void> {
    if (this.stateValue === 'ready') return Promise.resolve();
    if (this.stateValue === 'closed') return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      let timer: unknown = null;
      const waiter = {
        resolve: () => {
          if (timer !== null) this.clock.clearTimer(timer);
          resolve();
        },
        reject: (e: BridgeError) => {
          if (timer !== null) this.clock.clearTimer(timer);
          reject(e);
        },
      };
      this.readyWaiters.push(waiter);
      if (Number.isFinite(timeoutMs)) {
        timer = this.clock.setTimer(() => {
          this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
          reject(new BridgeError('NOT_CONNECTED', `not connected within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  private async request(
    expect: ServerMessage['type'],
    build: (id: number) => object,
    requireReady = true,
  ): Promise<ServerMessage> {
    if (requireReady) await this.whenReady(this.requestTimeoutMs);
    return this.requestNow(expect, build);
  }

  private requestNow(expect: ServerMessage['type'], build: (id: number) => object): Promise<ServerMessage> {
    const id = this.nextId++;
    const frame = encodeFrame(build(id), this.ack?.limits.maxFrameBytes ?? this.maxFrameBytes);
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimer(() => {
        this.pending.delete(id);
        reject(new BridgeError('TIMEOUT', `no ${expect} within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { expect, resolve, reject, timer });
      this.write(frame);
    });
  }

  private setState(state: ClientState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    for (const listener of this.listeners.state) listener(state);
  }

  private isClosed(): boolean {
    return this.stateValue === 'closed';
  }

  private async dial(): Promise<void> {
    if (this.isClosed()) return;
    let pipe: ClientPipe;
    this.reader = new FrameReader(this.maxFrameBytes);
    try {
      pipe = await openPipe(this.options.transport, {
        data: (chunk) => {
          if (this.pipe === pipe) this.reader.push(chunk, this.frameHandler);
        },
        drain: () => {
          if (this.pipe !== pipe) return;
          this.writable = true;
          this.flushQueue();
        },
        closed: () => {
          if (this.pipe === pipe) this.connectionLost();
        },
      });
    } catch (error) {
      this.retry(error instanceof BridgeError ? error : new BridgeError('NOT_CONNECTED', String(error)));
      return;
    }
    if (this.isClosed()) {
      pipe.destroy();
      return;
    }
    this.pipe = pipe;
    this.writable = true;
    this.credits = 0;
    try {
      const ack = (await this.requestNow('hello-ack', (id) => ({
        type: 'hello',
        id,
        versions: this.options.versions ?? PROTOCOL_VERSIONS,
        device: this.options.device,
        firmware: this.options.firmware,
        sensors: this.options.sensors ?? [],
        caps: this.options.caps ?? [],
      }))) as HelloAckMessage;
      if (this.pipe !== pipe) return;
      this.ack = ack;
      this.credits = ack.limits.credits;
      this.attempt = 0;
      this.finalError = null;
      // A new session numbers its results from 1; a resumed one continues, so gaps stay visible.
      if (!ack.resumed) this.lastSeq = 0;
      await this.reopenStreams(ack);
      if (this.pipe !== pipe) return;
      this.setState('ready');
      for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
      this.flushQueue();
    } catch (error) {
      const e = error instanceof BridgeError ? error : new BridgeError('PROTOCOL', String(error));
      if (e.code === 'VERSION_UNSUPPORTED') {
        this.shutdown(e);
        return;
      }
      if (this.pipe === pipe) {
        this.emitError(e, { fatal: false });
        pipe.destroy();
      }
    }
  }

  /** After a (re)connect: every stream this client opened is opened again (a no-op on a resume). */
  private async reopenStreams(ack: HelloAckMessage): Promise<void> {
    const resumed = new Set(ack.streams.map((s) => s.stream));
    const reopen = [...this.streams.values()].filter((s) => !resumed.has(s.stream));
    await Promise.all(
      reopen.map(async (spec) => {
        try {
          await this.requestNow('open-ack', (id) => ({
            type: 'open',
            id,
            stream: spec.stream,
            sensor: spec.sensor,
            rateHz: spec.rateHz,
            channels: spec.channels,
            ...(spec.cohort !== undefined ? { cohort: spec.cohort } : {}),
          }));
        } catch (error) {
          if (!(error instanceof BridgeError)) throw error;
          this.streams.delete(spec.stream);
          this.emitError(error, { stream: spec.stream, fatal: false });
        }
      }),
    );
  }

  private connectionLost(): void {
    this.pipe = null;
    this.reader.stop();
    for (const [id, request] of this.pending) {
      this.clock.clearTimer(request.timer);
      this.pending.delete(id);
      request.reject(new BridgeError('NOT_CONNECTED', 'the connection was lost'));
    }
    if (this.stateValue === 'closed') return;
    if (this.noReconnect || !this.backoff) {
      this.shutdown(this.finalError ?? new BridgeError('NOT_CONNECTED', 'the connection was lost'));
      return;
    }
    this.retry(new BridgeError('NOT_CONNECTED', 'the connection was lost'));
  }

  private retry(cause: BridgeError): void {
    if (this.stateValue === 'closed') return;
    if (!this.backoff || this.backoff.exhausted(this.attempt + 1)) {
      this.shutdown(cause);
      return;
    }
    this.attempt += 1;
    this.counters.reconnects += 1;
    this.setState(this.ack ? 'reconnecting' : 'connecting');
    this.reconnectTimer = this.clock.setTimer(() => {
      this.reconnectTimer = null;
      void this.dial();
    }, this.backoff.delayMs(this.attempt));
  }

  private shutdown(error: BridgeError): void {
    if (this.stateValue === 'closed') return;
    this.finalError = error;
    this.setState('closed');
    if (this.reconnectTimer !== null) this.clock.clearTimer(this.reconnectTimer);
    const pipe = this.pipe;
    this.pipe = null;
    this.reader.stop();
    pipe?.end();
    for (const [id, request] of this.pending) {
      this.clock.clearTimer(request.timer);
      this.pending.delete(id);
      request.reject(error);
    }
    for (const item of this.queue.splice(0)) item.reject(error);
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
  }

  private emitError(error: BridgeError, context: ErrorContext): void {
    for (const listener of this.listeners.error) listener(error, context);
  }

  private readonly frameHandler = {
    frame: (payload: Uint8Array) => {
      let message: ServerMessage;
      try {
        message = parseServerMessage(decodeCbor(payload, CLIENT_CBOR_LIMITS));
      } catch (error) {
        const e = error instanceof BridgeError ? error : new BridgeError('PROTOCOL', String(error));
        this.emitError(new BridgeError('PROTOCOL', `unreadable server frame: ${e.message}`), {
          fatal: false,
        });
        return;
      }
      this.handle(message);
    },
    oversized: (length: number) => {
      this.emitError(new BridgeError('PROTOCOL', `server frame of ${length} bytes skipped`), {
        fatal: false,
      });
    },
    corrupt: () => {
      this.emitError(new BridgeError('PROTOCOL', 'server framing is corrupt'), { fatal: true });
      this.pipe?.destroy();
    },
  };

  private settle(re: number, message: ServerMessage): void {
    const request = this.pending.get(re);
    if (!request) return;
    this.pending.delete(re);
    this.clock.clearTimer(request.timer);
    if (request.expect === message.type) request.resolve(message);
    else request.reject(new BridgeError('PROTOCOL', `expected ${request.expect}, got ${message.type}`));
  }

  private sequence(seq: number): void {
    if (this.lastSeq > 0 && seq > this.lastSeq + 1) this.counters.sequenceGaps += seq - this.lastSeq - 1;
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  private handle(message: ServerMessage): void {
    switch (message.type) {
      case 'hello-ack':
      case 'open-ack':
      case 'close-ack':
      case 'label-ack':
      case 'status-ack':
      case 'pong':
        this.settle(message.re, message);
        return;
      case 'credit':
        this.credits += message.grant;
        this.flushQueue();
        return;
      case 'result':
        this.counters.resultsReceived += 1;
        this.sequence(message.seq);
        for (const listener of this.listeners.result) listener(message);
        return;
      case 'alert':
        this.counters.alertsReceived += 1;
        this.sequence(message.seq);
        for (const listener of this.listeners.alert) listener(message);
        return;
      case 'missed':
        this.counters.reportedLost += message.streams.reduce((n, s) => n + s.results + s.alerts, 0);
        for (const listener of this.listeners.missed) listener(message);
        return;
      case 'overload':
        this.counters.overloads += 1;
        if (message.reason === 'results-dropped') this.counters.reportedLost += message.count;
        for (const listener of this.listeners.overload) listener(message);
        return;
      case 'error':
        this.onServerError(message);
        return;
    }
  }

  private onServerError(message: ErrorMessage): void {
    this.counters.errorsReceived += 1;
    const error = new BridgeError(message.code, message.message);
    if (message.fatal) {
      this.finalError = error;
      if (NO_RECONNECT.has(message.code)) this.noReconnect = true;
    }
    const request = message.re === undefined ? undefined : this.pending.get(message.re);
    if (request && message.re !== undefined) {
      this.pending.delete(message.re);
      this.clock.clearTimer(request.timer);
      request.reject(error);
      return;
    }
    this.emitError(error, {
      ...(message.re !== undefined ? { re: message.re } : {}),
      ...(message.stream !== undefined ? { stream: message.stream } : {}),
      fatal: message.fatal,
    });
  }
}
