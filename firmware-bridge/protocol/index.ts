// Public API of the bridge protocol: framing, the strict CBOR decoder, messages and their parsers.
export {
  CBOR_TAG,
  DEFAULT_CBOR_LIMITS,
  decodeCbor,
  type CborLimits,
  type CborMap,
  type CborValue,
} from './cbor-decode.ts';
export { corkedWriter } from './cork.ts';
export {
  BridgeError,
  isWireErrorCode,
  WIRE_ERROR_CODES,
  type BridgeErrorCode,
  type LocalErrorCode,
  type WireErrorCode,
} from './errors.ts';
export {
  DEFAULT_MAX_SKIP_BYTES,
  encodeFrame,
  encodePayload,
  FRAME_HEADER_BYTES,
  FrameReader,
  type FrameHandler,
} from './framing.ts';
export { encodeSamplesFrame } from './encode-samples.ts';
export { tryDecodeSamples } from './fast-samples.ts';
export * from './messages.ts';
export {
  MAX_RATE_HZ,
  parseClientMessage,
  physicalChannels,
  readRequestId,
  type ClientParseLimits,
} from './parse-client.ts';
export { parseServerMessage } from './parse-server.ts';
