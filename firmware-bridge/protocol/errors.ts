// One error class for the firmware bridge. Wire codes travel in `error` frames (docs/firmware-bridge.md,
// "Error codes"); local codes are raised by the TypeScript client and the server's configuration checks.

/** Codes that appear in `error` frames. Stream codes mirror the runtime's PipelineError codes 1:1. */
export const WIRE_ERROR_CODES = [
  // framing and decoding
  'FRAMING', // length prefix unusable (fatal: the connection is closed)
  'FRAME_TOO_LARGE', // a frame above the negotiated maximum (skipped)
  'BAD_CBOR', // not well-formed CBOR, unsupported item, duplicate key, trailing bytes, caps exceeded
  'BAD_MESSAGE', // not a map, unknown message type, missing or unknown key
  'BAD_FIELD', // a field has the wrong type, is NaN/Infinity, or is out of range
  // session
  'HELLO_REQUIRED',
  'HELLO_REPEATED',
  'HELLO_TIMEOUT', // fatal
  'VERSION_UNSUPPORTED',
  'SESSION_TAKEN_OVER', // fatal: the same device connected again on another connection
  'TOO_MANY_CONNECTIONS', // fatal
  'TOO_MANY_SESSIONS',
  'SLOW_CONSUMER', // fatal: the client stopped reading for longer than the stall timeout
  'SHUTTING_DOWN', // fatal
  // streams (PipelineError codes)
  'UNKNOWN_STREAM',
  'DUPLICATE_STREAM',
  'NO_MODEL_FOR_SENSOR',
  'RATE_MISMATCH',
  'CHANNEL_MISMATCH',
  'BAD_FRAME',
  'OUT_OF_ORDER',
  'TOO_MANY_STREAMS',
  'STREAM_SPEC_CONFLICT', // `open` of an existing stream with a different spec
  'COUNTER_GAP', // a counter jump beyond the bridge's limit (close and reopen the stream to start over)
  'INTERNAL', // the runtime failed for a reason that is not the client's input
] as const;

export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/** Codes raised locally (never sent on the wire). */
export type LocalErrorCode =
  | 'BAD_CONFIG' // invalid server or client options
  | 'NOT_CONNECTED' // the client has no usable connection right now
  | 'CLOSED' // the client or server was closed
  | 'TIMEOUT' // a request got no answer in time
  | 'QUEUE_FULL' // the client's bounded send queue is full
  | 'PROTOCOL'; // the peer sent a frame that does not follow the protocol

export type BridgeErrorCode = WireErrorCode | LocalErrorCode;

const WIRE_SET: ReadonlySet<string> = new Set(WIRE_ERROR_CODES);

export function isWireErrorCode(code: string): code is WireErrorCode {
  return WIRE_SET.has(code);
}

/** A wire code means the server refused (client side) or refuses (server side) with that code. */
export class BridgeError extends Error {
  constructor(
    readonly code: BridgeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BridgeError';
  }
}
