// What the bridge server needs from its surroundings: the runtime, a clock and timers, a logger, and a
// byte pipe per connection. All injected, so that tests drive them.
import type { DeviceRuntimeApi } from '../../runtime/api.ts';
import type { SamplesFrame } from '../../runtime/pipeline/index.ts';

/**
 * The runtime as the bridge uses it: DeviceRuntimeApi, except that `pushSamples` may return the
 * number of windows the frame completed. When it does, the bridge holds credit while a device has
 * more than `maxWindowsInFlight` windows without a result (a runtime returning nothing is never held).
 */
export interface BridgeRuntime extends Omit<DeviceRuntimeApi, 'pushSamples'> {
  pushSamples(frame: SamplesFrame): unknown;
}

export interface BridgeClock {
  /** Wall clock, ms since the Unix epoch (label times). */
  nowMs(): number;
  /** Monotonic ms (staleness of in-flight windows). */
  monoMs(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const REAL_CLOCK: BridgeClock = Object.freeze({
  nowMs: () => Date.now(),
  monoMs: () => performance.now(),
  setTimer: (fn: () => void, ms: number) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimer: (handle: unknown) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
});

/** A pino-compatible subset. Never given samples (DESIGN.md, "Logs"). */
export interface BridgeLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const SILENT_LOGGER: BridgeLogger = Object.freeze({
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
});

/** One connection's byte pipe (a socket, a pair of stdio streams, or a test double). */
export interface Wire {
  /** For logs: `unix`, `tcp 127.0.0.1:50312`, `stdio`. */
  readonly label: string;
  /** Writes one frame; false means "stop until drained" (the frame itself is buffered). */
  write(frame: Uint8Array): boolean;
  /** Flushes and closes. */
  end(): void;
  destroy(): void;
  /** Stops / restarts delivery of incoming bytes. */
  pause(): void;
  resume(): void;
}

export interface BridgeCounters {
  connectionsAccepted: number;
  connectionsRefused: number;
  connectionsOpen: number;
  sessions: number;
  sessionsResumed: number;
  sessionsExpired: number;
  takeovers: number;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  samplesIn: number;
  /** Samples frames decoded by the fast path (the rest went through the strict general decoder). */
  fastPathFrames: number;
  /** Client frames answered with an `error` frame. */
  framesRejected: number;
  errorsByCode: Record<string, number>;
  fatalCloses: number;
  /** Times a connection's reading was paused because it did not read its answers. */
  readPauses: number;
  creditExceeded: number;
  creditHolds: number;
  resultsDelivered: number;
  resultsDropped: number;
  alertsDelivered: number;
  alertsDropped: number;
  internalErrors: number;
}

export function emptyCounters(): BridgeCounters {
  return {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    connectionsOpen: 0,
    sessions: 0,
    sessionsResumed: 0,
    sessionsExpired: 0,
    takeovers: 0,
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    samplesIn: 0,
    fastPathFrames: 0,
    framesRejected: 0,
    errorsByCode: {},
    fatalCloses: 0,
    readPauses: 0,
    creditExceeded: 0,
    creditHolds: 0,
    resultsDelivered: 0,
    resultsDropped: 0,
    alertsDelivered: 0,
    alertsDropped: 0,
    internalErrors: 0,
  };
}
