// Every bridge message as a tagged union on `type`. The CBOR map on the wire uses exactly these field
// names (docs/firmware-bridge.md gives the CDDL of each). Client = firmware, server = runtime.
import type { AlertEvent, LabelOutcome, LabelSubmission, RuntimeStatus } from '../../runtime/api.ts';
import type { ResultProvenance, ResultStatus, StreamSpec } from '../../runtime/pipeline/index.ts';
import type { WireErrorCode } from './errors.ts';

/** Protocol versions this code speaks, newest last. */
export const PROTOCOL_VERSIONS: readonly number[] = Object.freeze([1]);

export type SensorKind = StreamSpec['sensor'];
export const SENSOR_KINDS: readonly SensorKind[] = Object.freeze(['accel', 'ecg', 'ppg']);

/** Device and stream ids: they become part of result ids (`device/stream:window:family`). */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

// ---------------------------------------------------------------- client → server

export interface SensorDecl {
  readonly sensor: SensorKind;
  readonly rateHz: number;
  readonly channels: number;
}

export interface HelloMessage {
  readonly type: 'hello';
  readonly id: number;
  /** Protocol versions the client speaks; the server picks the highest it shares. */
  readonly versions: readonly number[];
  readonly device: string;
  readonly firmware: string;
  readonly sensors: readonly SensorDecl[];
  readonly caps: readonly string[];
}

export interface OpenMessage {
  readonly type: 'open';
  readonly id: number;
  readonly stream: string;
  readonly sensor: SensorKind;
  readonly rateHz: number;
  readonly channels: number;
  readonly cohort?: string;
}

export interface CloseMessage {
  readonly type: 'close';
  readonly id: number;
  readonly stream: string;
}

export interface SamplesMessage {
  readonly type: 'samples';
  readonly id: number;
  readonly stream: string;
  /** Counter of the first sample; one per sample, never going backwards. */
  readonly counter: number;
  /** Device time of the first sample, ms since the Unix epoch. */
  readonly timestampMs: number;
  /** When present, must equal the rate the stream was opened with. */
  readonly rateHz?: number;
  /** One typed array per channel: float32 (physical unit) or int16 (× scale = physical unit). */
  readonly data: readonly (Float32Array | Int16Array)[];
  /** One factor per channel; required when any channel is int16, ignored for float32 channels. */
  readonly scale?: readonly number[];
  /** SENSOR_FLAG bits per sample. */
  readonly flags?: Uint8Array;
}

export interface LabelMessage {
  readonly type: 'label';
  readonly id: number;
  readonly result: string;
  readonly value: 0 | 1;
  readonly source: LabelSubmission['source'];
}

export interface StatusMessage {
  readonly type: 'status';
  readonly id: number;
}

export interface PingMessage {
  readonly type: 'ping';
  readonly id: number;
}

export type ClientMessage =
  HelloMessage | OpenMessage | CloseMessage | SamplesMessage | LabelMessage | StatusMessage | PingMessage;

export type ClientMessageType = ClientMessage['type'];

// ---------------------------------------------------------------- server → client

export interface StreamState {
  readonly stream: string;
  readonly sensor: SensorKind;
  readonly rateHz: number;
  readonly channels: number;
  readonly cohort?: string;
  /** Counter the runtime expects next (null before the first accepted samples frame). */
  readonly next: number | null;
}

/** Limits the server announces in `hello-ack`; the client must stay within them. */
export interface WireLimits {
  readonly maxFrameBytes: number;
  /** Samples frames the client may send before the first `credit` frame. */
  readonly credits: number;
  readonly maxStreams: number;
  readonly maxChannels: number;
  readonly maxSamplesPerFrame: number;
  /** Results and alerts kept per device while it is away or slow (beyond: reported missed). */
  readonly resumeBuffer: number;
  /** How long a disconnected device's streams stay open for a resume. */
  readonly resumeWindowMs: number;
}

export interface HelloAckMessage {
  readonly type: 'hello-ack';
  readonly re: number;
  readonly version: number;
  /** True when the device's earlier session (its streams and queued results) was resumed. */
  readonly resumed: boolean;
  readonly streams: readonly StreamState[];
  readonly limits: WireLimits;
  readonly server: { readonly name: string; readonly version: string; readonly device: string };
  readonly caps: readonly string[];
}

export interface OpenAckMessage {
  readonly type: 'open-ack';
  readonly re: number;
  readonly stream: string;
  /** True when the stream was already open in this session with the same spec. */
  readonly resumed: boolean;
  readonly next: number | null;
}

export interface CloseAckMessage {
  readonly type: 'close-ack';
  readonly re: number;
  readonly stream: string;
}

export interface CreditMessage {
  readonly type: 'credit';
  /** Additional samples frames the client may send. */
  readonly grant: number;
}

export interface LabelAckMessage {
  readonly type: 'label-ack';
  readonly re: number;
  readonly result: string;
  readonly outcome: LabelOutcome['kind'];
}

export interface StreamCounters {
  readonly stream: string;
  readonly sensor: SensorKind;
  readonly rateHz: number;
  readonly channels: number;
  readonly next: number | null;
  readonly frames: number;
  readonly samples: number;
  readonly rejected: number;
  readonly results: number;
}

export interface SessionCounters {
  readonly framesIn: number;
  readonly samplesIn: number;
  readonly framesRejected: number;
  readonly creditExceeded: number;
  readonly resultsDelivered: number;
  readonly resultsDropped: number;
  readonly alertsDelivered: number;
  readonly alertsDropped: number;
  readonly resumes: number;
}

export interface StatusAckMessage {
  readonly type: 'status-ack';
  readonly re: number;
  readonly runtime: RuntimeStatus;
  readonly session: {
    readonly device: string;
    readonly firmware: string;
    readonly streams: readonly StreamCounters[];
    readonly queued: number;
    readonly counters: SessionCounters;
  };
}

export interface PongMessage {
  readonly type: 'pong';
  readonly re: number;
}

export interface ResultMessage {
  readonly type: 'result';
  /** Per-device sequence over results and alerts; a gap is always explained by `missed`/`overload`. */
  readonly seq: number;
  readonly result: string;
  readonly stream: string;
  readonly window: number;
  readonly first: number;
  readonly last: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly cohort: string;
  readonly status: ResultStatus;
  readonly provenance: ResultProvenance;
  /** From window complete to result ready inside the runtime. */
  readonly latencyMs: number;
}

export interface AlertMessage {
  readonly type: 'alert';
  readonly seq: number;
  readonly result: string;
  readonly stream: string;
  readonly modelFamily: string;
  readonly bundleId: string;
  readonly label: string;
  readonly atMs: number;
  readonly source: AlertEvent['source'];
}

/** What was not delivered for one stream. Window indices are inclusive; null when only alerts were lost. */
export interface StreamLoss {
  readonly stream: string;
  readonly results: number;
  readonly alerts: number;
  readonly firstWindow: number | null;
  readonly lastWindow: number | null;
}

export interface MissedMessage {
  readonly type: 'missed';
  readonly reason: 'detached';
  readonly streams: readonly StreamLoss[];
}

export type OverloadReason = 'no-credit' | 'results-dropped';

export interface OverloadMessage {
  readonly type: 'overload';
  readonly reason: OverloadReason;
  /** Frames (no-credit) or results and alerts (results-dropped) dropped since the previous notice. */
  readonly count: number;
  /** no-credit: id of the last samples frame dropped. */
  readonly re?: number;
  /** results-dropped: which results. */
  readonly streams?: readonly StreamLoss[];
  readonly totals: {
    readonly framesRejected: number;
    readonly resultsDropped: number;
    readonly alertsDropped: number;
  };
}

export interface ErrorMessage {
  readonly type: 'error';
  /** Id of the request that failed, when it could be read. */
  readonly re?: number;
  readonly code: WireErrorCode;
  readonly message: string;
  readonly stream?: string;
  /** True when the server closes the connection after this frame. */
  readonly fatal: boolean;
}

export type ServerMessage =
  | HelloAckMessage
  | OpenAckMessage
  | CloseAckMessage
  | CreditMessage
  | LabelAckMessage
  | StatusAckMessage
  | PongMessage
  | ResultMessage
  | AlertMessage
  | MissedMessage
  | OverloadMessage
  | ErrorMessage;

export type ServerMessageType = ServerMessage['type'];
