// The bridge server's bounds: frozen defaults with units in the names, merged with the caller's
// values and checked at start (DESIGN.md, "Options"). Every queue the server keeps is bounded here.
import { BridgeError } from '../protocol/index.ts';

export interface BridgeLimits {
  /** Largest frame payload accepted (and announced in `hello-ack`). */
  readonly maxFrameBytes: number;
  /** A length field above this is not skipped: the connection's framing is corrupt and it closes. */
  readonly maxSkipBytes: number;
  /** Samples frames a client may have unacknowledged (initial grant in `hello-ack`). */
  readonly credits: number;
  readonly maxStreamsPerSession: number;
  readonly maxChannels: number;
  /** The runtime's own per-frame cap (runtime/pipeline/stream.ts) is 65,536. */
  readonly maxSamplesPerFrame: number;
  readonly maxConnections: number;
  /** Devices with a session (connected or waiting for a resume). */
  readonly maxSessions: number;
  /** Results and alerts kept per device for a slow or disconnected client; beyond: dropped oldest, reported. */
  readonly resumeBuffer: number;
  /** No credit is granted while more than this many results wait for the client. */
  readonly creditHoldResults: number;
  /** Control frames (acks, errors, credits) waiting for a slow socket; beyond: reading pauses. */
  readonly maxControlQueueFrames: number;
  /** Windows pushed but without a result yet, per device, before credit is held (when the runtime reports windows). */
  readonly maxWindowsInFlight: number;
  /** A window without a result for this long no longer holds credit (the runtime lost it). */
  readonly inFlightStaleMs: number;
  /**
   * A samples frame may start at most this many seconds (at the stream's rate) after the sample the
   * stream expects next; a larger jump is refused (COUNTER_GAP): it is a corrupt counter rather than
   * a gap (2^40 samples at 250 Hz is 139 years). Firmware that resumes after longer pauses reopens
   * the stream.
   */
  readonly maxCounterGapS: number;
  /** How long a disconnected device's streams and queued results are kept for a resume. */
  readonly resumeWindowMs: number;
  readonly helloTimeoutMs: number;
  /** A client that reads nothing for this long while frames wait is disconnected (SLOW_CONSUMER). */
  readonly stallTimeoutMs: number;
  /** After a fatal error the connection is flushed and closed; if the peer does not read, destroyed after this. */
  readonly closeGraceMs: number;
}

export const DEFAULT_BRIDGE_LIMITS: BridgeLimits = Object.freeze({
  maxFrameBytes: 256 * 1024,
  maxSkipBytes: 16 * 1024 * 1024,
  credits: 64,
  maxStreamsPerSession: 16,
  maxChannels: 16,
  maxSamplesPerFrame: 65_536,
  maxConnections: 64,
  maxSessions: 64,
  resumeBuffer: 1024,
  creditHoldResults: 64,
  maxControlQueueFrames: 256,
  maxWindowsInFlight: 256,
  inFlightStaleMs: 10_000,
  maxCounterGapS: 86_400,
  resumeWindowMs: 300_000,
  helloTimeoutMs: 10_000,
  stallTimeoutMs: 30_000,
  closeGraceMs: 1_000,
});

const BOUNDS: Readonly<Record<keyof BridgeLimits, readonly [number, number]>> = {
  maxFrameBytes: [1024, 16 * 1024 * 1024],
  maxSkipBytes: [1024, 1024 * 1024 * 1024],
  credits: [1, 65_536],
  maxStreamsPerSession: [1, 1024],
  maxChannels: [1, 64],
  maxSamplesPerFrame: [1, 65_536],
  maxConnections: [1, 65_536],
  maxSessions: [1, 65_536],
  resumeBuffer: [1, 1_000_000],
  creditHoldResults: [0, 1_000_000],
  maxControlQueueFrames: [1, 1_000_000],
  maxWindowsInFlight: [1, 1_000_000],
  inFlightStaleMs: [1, 3_600_000],
  maxCounterGapS: [1, 7 * 86_400],
  resumeWindowMs: [0, 86_400_000],
  helloTimeoutMs: [1, 3_600_000],
  stallTimeoutMs: [1, 3_600_000],
  closeGraceMs: [0, 60_000],
};

/** Merges `overrides` over the defaults and checks every value; throws BridgeError('BAD_CONFIG'). */
export function resolveLimits(overrides: Partial<BridgeLimits> = {}): BridgeLimits {
  const merged: Record<string, number> = { ...DEFAULT_BRIDGE_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in BOUNDS)) throw new BridgeError('BAD_CONFIG', `unknown bridge limit "${key}"`);
    merged[key] = value;
  }
  for (const [key, [min, max]] of Object.entries(BOUNDS)) {
    const value = merged[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new BridgeError('BAD_CONFIG', `bridge limit ${key} must be an integer in [${min}, ${max}]`);
    }
  }
  const limits = Object.freeze(merged) as unknown as BridgeLimits;
  if (limits.maxSkipBytes < limits.maxFrameBytes) {
    throw new BridgeError('BAD_CONFIG', 'maxSkipBytes must be at least maxFrameBytes');
  }
  return limits;
}
