// Public API of the TypeScript bridge client.
export { Backoff, DEFAULT_RECONNECT, type ReconnectOptions } from './backoff.ts';
export {
  BridgeClient,
  type BridgeClientOptions,
  type ClientClock,
  type ClientCounters,
  type ClientSamples,
  type ClientState,
  type ClientStreamSpec,
  type ErrorContext,
} from './client.ts';
export type { ClientTransport } from './transport.ts';
