// The bridge server's core, independent of any transport: sessions per device, the mapping of
// messages onto the runtime, and the routing of results and alerts back to the device they belong to.
// Transports (server/transports.ts) hand it a Wire per connection; tests can do the same in-process.
import type { AlertEvent } from '../../runtime/api.ts';
import {
  PipelineError,
  type SamplesFrame,
  type StreamSpec,
  type WindowResult,
} from '../../runtime/pipeline/index.ts';
import {
  PROTOCOL_VERSIONS,
  physicalChannels,
  type ClientMessage,
  type CloseMessage,
  type HelloMessage,
  type LabelMessage,
  type OpenMessage,
  type SamplesMessage,
  type StatusMessage,
  type WireErrorCode,
} from '../protocol/index.ts';
import { Connection, describe, type ConnectionHost } from './connection.ts';
import type { BridgeLimits } from './limits.ts';
import { wireRuntimeStatus } from './outgoing.ts';
import { Session, type SessionStream } from './session.ts';
import {
  emptyCounters,
  type BridgeClock,
  type BridgeCounters,
  type BridgeLogger,
  type BridgeRuntime,
  type Wire,
} from './types.ts';

/** Capabilities the server announces in `hello-ack` (informational; see the protocol document). */
export const SERVER_CAPS: readonly string[] = Object.freeze([
  'float32',
  'int16',
  'flags',
  'resume',
  'labels',
  'status',
  'alerts',
  'ping',
]);

/** Relative difference tolerated between a samples frame's `rateHz` and its stream's. */
const RATE_EQUALITY_REL = 1e-6;

export interface BridgeCoreOptions {
  readonly runtime: BridgeRuntime;
  readonly limits: BridgeLimits;
  readonly clock: BridgeClock;
  readonly logger: BridgeLogger;
}

export class BridgeCore implements ConnectionHost {
  readonly limits: BridgeLimits;
  readonly clock: BridgeClock;
  readonly logger: BridgeLogger;
  readonly counters: BridgeCounters = emptyCounters();
  private readonly runtime: BridgeRuntime;
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, Session>();
  private readonly unsubscribe: (() => void)[] = [];
  private closed = false;

  constructor(options: BridgeCoreOptions) {
    this.runtime = options.runtime;
    this.limits = options.limits;
    this.clock = options.clock;
    this.logger = options.logger;
    this.unsubscribe.push(
      this.runtime.onResult((result) => {
        this.routeResult(result);
      }),
      this.runtime.onAlert((alert) => {
        this.routeAlert(alert);
      }),
    );
  }

  /** A new connection on any transport. Returns null when refused (the wire was told why and closed). */
  accept(wire: Wire): Connection | null {
    if (this.closed || this.connections.size >= this.limits.maxConnections) {
      this.counters.connectionsRefused += 1;
      const connection = new Connection(wire, this);
      connection.fail(
        this.closed ? 'SHUTTING_DOWN' : 'TOO_MANY_CONNECTIONS',
        this.closed ? 'the server is closing' : `at most ${this.limits.maxConnections} connections`,
      );
      return null;
    }
    const connection = new Connection(wire, this);
    this.connections.add(connection);
    this.counters.connectionsAccepted += 1;
    this.counters.connectionsOpen = this.connections.size;
    this.logger.info(
      { event: 'bridge.connect', connection: connection.id, transport: wire.label },
      'connected',
    );
    return connection;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  session(device: string): Session | undefined {
    return this.sessions.get(device);
  }

  connectionClosed(connection: Connection, session: Session | null): void {
    if (!this.connections.delete(connection)) return;
    this.counters.connectionsOpen = this.connections.size;
    this.logger.info({ event: 'bridge.disconnect', connection: connection.id }, 'disconnected');
    if (session && session.peer === connection) {
      session.detach();
      this.scheduleExpiry(session);
    }
  }

  dispatch(connection: Connection, message: ClientMessage): void {
    switch (message.type) {
      case 'hello':
        this.hello(connection, message);
        return;
      case 'open':
        this.open(connection, message);
        return;
      case 'close':
        this.closeStream(connection, message);
        return;
      case 'samples':
        this.samples(connection, message);
        return;
      case 'label':
        this.label(connection, message);
        return;
      case 'status':
        this.status(connection, message);
        return;
      case 'ping':
        connection.sendControl({ type: 'pong', re: message.id });
        return;
    }
  }

  // ------------------------------------------------------------------ handlers

  private hello(connection: Connection, message: HelloMessage): void {
    const shared = message.versions.filter((v) => PROTOCOL_VERSIONS.includes(v));
    if (shared.length === 0) {
      connection.sendError(
        'VERSION_UNSUPPORTED',
        `server speaks protocol versions ${PROTOCOL_VERSIONS.join(', ')}`,
        message.id,
      );
      return;
    }
    const version = Math.max(...shared);
    let session = this.sessions.get(message.device);
    const resumed = session !== undefined;
    if (session) {
      if (session.peer) {
        this.counters.takeovers += 1;
        session.peer.superseded();
      }
      if (session.expiry !== null) {
        this.clock.clearTimer(session.expiry);
        session.expiry = null;
      }
      session.firmware = message.firmware;
      session.sensors = message.sensors;
      session.caps = message.caps;
      session.counters.resumes += 1;
      this.counters.sessionsResumed += 1;
    } else {
      if (this.sessions.size >= this.limits.maxSessions) {
        connection.sendError('TOO_MANY_SESSIONS', `at most ${this.limits.maxSessions} devices`, message.id);
        return;
      }
      session = new Session(message.device, message, this.limits.resumeBuffer);
      this.sessions.set(message.device, session);
      this.counters.sessions = this.sessions.size;
    }
    const status = this.runtime.status();
    this.logger.info(
      { event: 'bridge.hello', connection: connection.id, device: message.device, resumed, version },
      'hello accepted',
    );
    connection.becomeReady(session, version, {
      type: 'hello-ack',
      re: message.id,
      version,
      resumed,
      streams: session.streamStates(),
      limits: {
        maxFrameBytes: this.limits.maxFrameBytes,
        credits: this.limits.credits,
        maxStreams: this.limits.maxStreamsPerSession,
        maxChannels: this.limits.maxChannels,
        maxSamplesPerFrame: this.limits.maxSamplesPerFrame,
        resumeBuffer: this.limits.resumeBuffer,
        resumeWindowMs: this.limits.resumeWindowMs,
      },
      server: { name: 'vigil', version: status.runtimeVersion, device: status.deviceId },
      caps: SERVER_CAPS,
    });
  }

  private open(connection: Connection, message: OpenMessage): void {
    const session = connection.session as Session;
    const existing = session.streams.get(message.stream);
    if (existing) {
      const same =
        existing.sensor === message.sensor &&
        existing.rateHz === message.rateHz &&
        existing.channels === message.channels &&
        existing.cohort === message.cohort;
      if (!same) {
        connection.sendError(
          'STREAM_SPEC_CONFLICT',
          `stream ${message.stream} is open with a different spec; close it first`,
          message.id,
          message.stream,
        );
        return;
      }
      connection.sendControl({
        type: 'open-ack',
        re: message.id,
        stream: message.stream,
        resumed: true,
        next: existing.next,
      });
      return;
    }
    if (session.streams.size >= this.limits.maxStreamsPerSession) {
      connection.sendError(
        'TOO_MANY_STREAMS',
        `at most ${this.limits.maxStreamsPerSession} streams per device`,
        message.id,
        message.stream,
      );
      return;
    }
    const runtimeId = `${session.device}/${message.stream}`;
    const spec: StreamSpec = {
      deviceId: session.device,
      streamId: runtimeId,
      sensor: message.sensor,
      rateHz: message.rateHz,
      channelCount: message.channels,
      ...(message.cohort !== undefined ? { cohort: message.cohort } : {}),
    };
    const opened = this.callRuntime(connection, message.id, message.stream, () => {
      this.runtime.openStream(spec);
    });
    if (!opened) return;
    session.streams.set(message.stream, {
      stream: message.stream,
      runtimeId,
      sensor: message.sensor,
      rateHz: message.rateHz,
      channels: message.channels,
      cohort: message.cohort,
      next: null,
      frames: 0,
      samples: 0,
      rejected: 0,
      results: 0,
    });
    connection.sendControl({
      type: 'open-ack',
      re: message.id,
      stream: message.stream,
      resumed: false,
      next: null,
    });
  }

  private closeStream(connection: Connection, message: CloseMessage): void {
    const session = connection.session as Session;
    const stream = session.streams.get(message.stream);
    if (!stream) {
      connection.sendError(
        'UNKNOWN_STREAM',
        `stream ${message.stream} is not open`,
        message.id,
        message.stream,
      );
      return;
    }
    const closed = this.callRuntime(connection, message.id, message.stream, () => {
      this.runtime.closeStream(stream.runtimeId);
    });
    if (!closed) return;
    session.streams.delete(message.stream);
    connection.sendControl({ type: 'close-ack', re: message.id, stream: message.stream });
  }

  private samples(connection: Connection, message: SamplesMessage): void {
    const session = connection.session as Session;
    session.counters.framesIn += 1;
    const stream = session.streams.get(message.stream);
    if (!stream) {
      session.counters.framesRejected += 1;
      connection.sendError(
        'UNKNOWN_STREAM',
        `stream ${message.stream} is not open`,
        message.id,
        message.stream,
      );
      return;
    }
    if (message.rateHz !== undefined && Math.abs(message.rateHz / stream.rateHz - 1) > RATE_EQUALITY_REL) {
      this.reject(session, stream);
      connection.sendError(
        'RATE_MISMATCH',
        `frame declares ${message.rateHz} Hz; stream ${message.stream} was opened at ${stream.rateHz} Hz`,
        message.id,
        message.stream,
      );
      return;
    }
    const maxGap = Math.ceil(this.limits.maxCounterGapS * stream.rateHz);
    if (stream.next !== null && message.counter - stream.next > maxGap) {
      this.reject(session, stream);
      connection.sendError(
        'COUNTER_GAP',
        `frame starts ${message.counter - stream.next} samples after the expected counter ${stream.next} ` +
          `(more than ${this.limits.maxCounterGapS} s); close and reopen the stream to start over`,
        message.id,
        message.stream,
      );
      return;
    }
    const length = message.data[0]?.length ?? 0;
    let windows: unknown;
    const frame: SamplesFrame =
      message.flags === undefined
        ? {
            streamId: stream.runtimeId,
            firstCounter: message.counter,
            timestampMs: message.timestampMs,
            channels: physicalChannels(message),
          }
        : {
            streamId: stream.runtimeId,
            firstCounter: message.counter,
            timestampMs: message.timestampMs,
            channels: physicalChannels(message),
            flags: message.flags,
          };
    const pushed = this.callRuntime(connection, message.id, message.stream, () => {
      windows = this.runtime.pushSamples(frame);
    });
    if (!pushed) {
      this.reject(session, stream);
      return;
    }
    stream.next = message.counter + length;
    stream.frames += 1;
    stream.samples += length;
    session.counters.samplesIn += length;
    this.counters.samplesIn += length;
    if (typeof windows === 'number' && windows > 0) {
      if (session.windowsInFlight === 0) session.lastProgressMonoMs = this.clock.monoMs();
      session.windowsInFlight += windows;
    }
  }

  private reject(session: Session, stream: SessionStream): void {
    stream.rejected += 1;
    session.counters.framesRejected += 1;
  }

  private label(connection: Connection, message: LabelMessage): void {
    const session = connection.session as Session;
    // A device may only label its own results.
    const outcome = message.result.startsWith(`${session.device}/`)
      ? this.runtime.submitLabel({
          resultId: message.result,
          value: message.value,
          source: message.source,
          atMs: this.clock.nowMs(),
        }).kind
      : 'unknown-result';
    connection.sendControl({ type: 'label-ack', re: message.id, result: message.result, outcome });
  }

  private status(connection: Connection, message: StatusMessage): void {
    const session = connection.session as Session;
    connection.sendControl({
      type: 'status-ack',
      re: message.id,
      runtime: wireRuntimeStatus(this.runtime.status()),
      session: {
        device: session.device,
        firmware: session.firmware,
        streams: session.streamCounters(),
        queued: session.queued,
        counters: session.sessionCounters(),
      },
    });
  }

  /** Runs a runtime call; a PipelineError becomes an `error` frame with the same code. */
  private callRuntime(connection: Connection, re: number, stream: string, call: () => void): boolean {
    try {
      call();
      return true;
    } catch (error) {
      if (error instanceof PipelineError) {
        connection.sendError(error.code satisfies WireErrorCode, error.message, re, stream);
        return false;
      }
      this.counters.internalErrors += 1;
      this.logger.error({ event: 'bridge.runtime', stream, err: describe(error) }, 'runtime call failed');
      connection.sendError('INTERNAL', 'the runtime failed to handle this request', re, stream);
      return false;
    }
  }

  // ------------------------------------------------------------------ results

  /** `device/stream` → the device's session and the client's stream id. */
  private route(runtimeStreamId: string): { session: Session; stream: string } | null {
    const slash = runtimeStreamId.indexOf('/');
    if (slash <= 0) return null;
    const session = this.sessions.get(runtimeStreamId.slice(0, slash));
    return session ? { session, stream: runtimeStreamId.slice(slash + 1) } : null;
  }

  private routeResult(result: WindowResult): void {
    if (result.shadow) return; // never reaches firmware (DeviceRuntimeApi already filters)
    const route = this.route(result.streamId);
    if (!route) return;
    const { session, stream } = route;
    const s = session.streams.get(stream);
    if (s) s.results += 1;
    if (session.windowsInFlight > 0) session.windowsInFlight -= 1;
    session.lastProgressMonoMs = this.clock.monoMs();
    this.enqueue(session, { kind: 'result', stream, result });
  }

  private routeAlert(alert: AlertEvent): void {
    const route = this.route(alert.streamId);
    if (!route) return;
    this.enqueue(route.session, { kind: 'alert', stream: route.stream, alert });
  }

  private enqueue(session: Session, item: Parameters<Session['enqueue']>[0]): void {
    const results = session.counters.resultsDropped;
    const alerts = session.counters.alertsDropped;
    session.enqueue(item);
    this.counters.resultsDropped += session.counters.resultsDropped - results;
    this.counters.alertsDropped += session.counters.alertsDropped - alerts;
  }

  // ------------------------------------------------------------------ lifetime

  private scheduleExpiry(session: Session): void {
    if (this.closed) return;
    if (session.expiry !== null) this.clock.clearTimer(session.expiry);
    session.expiry = this.clock.setTimer(() => {
      session.expiry = null;
      this.expire(session);
    }, this.limits.resumeWindowMs);
  }

  private expire(session: Session): void {
    if (session.peer || this.sessions.get(session.device) !== session) return;
    this.closeStreams(session);
    this.sessions.delete(session.device);
    this.counters.sessions = this.sessions.size;
    this.counters.sessionsExpired += 1;
    this.logger.info(
      { event: 'bridge.session.expired', device: session.device, queued: session.queued },
      'device did not come back within the resume window; its streams are closed',
    );
  }

  private closeStreams(session: Session): void {
    for (const stream of session.streams.values()) {
      try {
        this.runtime.closeStream(stream.runtimeId);
      } catch (error) {
        this.logger.warn({ event: 'bridge.close-stream', err: describe(error) }, 'closeStream failed');
      }
    }
    session.streams.clear();
  }

  /** Tells every client the server is closing, closes their streams in the runtime, stops listening to it. */
  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const connection of [...this.connections]) connection.fail('SHUTTING_DOWN', 'the server is closing');
    for (const session of this.sessions.values()) {
      if (session.expiry !== null) this.clock.clearTimer(session.expiry);
      session.expiry = null;
      this.closeStreams(session);
    }
    this.sessions.clear();
    this.counters.sessions = 0;
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
