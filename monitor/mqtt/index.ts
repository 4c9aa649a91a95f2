// Public API of the device MQTT transport (issue 7; docs/telemetry.md).
export { DeviceClient } from './client.ts';
export type {
  ClientCounters,
  ClientState,
  CommandRejection,
  ConnectedInfo,
  DeviceClientDeps,
  OutboxPort,
  ProtocolLevel,
  Timers,
} from './client.ts';
export { DEVICE_CLIENT_DEFAULTS, resolveDeviceClientOptions } from './options.ts';
export type { DeviceClientOptions, ProtocolChoice, TlsOptions } from './options.ts';
export { BACKOFF_DEFAULTS, backoffDelayMs, seededRandom } from './backoff.ts';
export type { BackoffOptions } from './backoff.ts';
export { MAX_STATE_PAYLOAD_BYTES, encodeState, parseState } from './birth.ts';
export type { StatePayload } from './birth.ts';
export {
  ID_PATTERN,
  RESERVED_DEVICE_IDS,
  TOPIC_ROOT,
  TRANSFER_ID_PATTERN,
  checkId,
  checkTransferId,
  deviceCommandTopic,
  deviceTopics,
  fleetCommandTopic,
  fleetFilters,
  parseTopic,
  parseTransferTopic,
  topicMatches,
  transferChunkTopic,
  transferManifestTopic,
} from './topics.ts';
export type {
  DeviceTopics,
  ParsedTopic,
  ParsedTransferTopic,
  TransferPart,
  TransferScope,
} from './topics.ts';
export { connectOperator } from './operator.ts';
export type { OperatorConnection, OperatorOptions } from './operator.ts';
export { MqttError } from './errors.ts';
export type { MqttErrorCode } from './errors.ts';
