// Public API of signed-update delivery over MQTT (issue 7; docs/telemetry.md "Update transfers").
export { UpdateReceiver, UPDATE_LIMIT_DEFAULTS } from './receiver.ts';
export type {
  InstallResult,
  ReceiverTimers,
  TransferSnapshot,
  UpdateLimits,
  UpdateReceiverDeps,
  UpdateReceiverOptions,
} from './receiver.ts';
export { UpdateSender, SENDER_DEFAULTS } from './sender.ts';
export type {
  DeviceOutcome,
  PushGoal,
  PushResult,
  PushTarget,
  SenderEvent,
  SenderTransport,
  UpdateSenderDeps,
  UpdateSenderOptions,
} from './sender.ts';
export {
  MAX_NEED_RANGES,
  MAX_STATUS_BYTES,
  UPDATE_STATUS_CONTENT_TYPE,
  UPDATE_STATUS_KINDS,
  decodeStatusMessage,
  encodeStatusMessage,
  outboxStatusSink,
  statusRank,
} from './status.ts';
export type { StatusOutbox, UpdateStatus, UpdateStatusKind, UpdateStatusMessage } from './status.ts';
export {
  CHUNK_HEADER_BYTES,
  MANIFEST_HEADER_BYTES,
  buildManifest,
  chunkLength,
  decodeChunk,
  decodeManifest,
  encodeChunk,
  encodeManifest,
  sha256,
} from './wire.ts';
export type { TransferChunk, TransferManifest, TransferTarget } from './wire.ts';
export { expandRanges, missingRanges } from './ranges.ts';
export type { ChunkRange } from './ranges.ts';
export type { DoneRecord } from './staging.ts';
export { UpdateError } from './errors.ts';
export type { UpdateErrorCode } from './errors.ts';
export { openDeviceTransport } from './device-transport.ts';
export type { DeviceTransport, DeviceTransportConfig, DeviceTransportHooks } from './device-transport.ts';
