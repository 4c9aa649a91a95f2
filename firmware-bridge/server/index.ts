// Public API of the bridge server.
export { BridgeCore, SERVER_CAPS, type BridgeCoreOptions } from './core.ts';
export { Connection } from './connection.ts';
export { DEFAULT_BRIDGE_LIMITS, resolveLimits, type BridgeLimits } from './limits.ts';
export {
  createBridgeCore,
  startBridgeServer,
  type BridgeServerHandle,
  type BridgeServerOptions,
} from './server.ts';
export type { BridgeAddress, TransportSpec } from './transports.ts';
export {
  REAL_CLOCK,
  SILENT_LOGGER,
  type BridgeClock,
  type BridgeCounters,
  type BridgeLogger,
  type BridgeRuntime,
  type Wire,
} from './types.ts';
