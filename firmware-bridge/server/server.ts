// The server entry: one core (sessions, routing) behind any number of transports.
import { BridgeError } from '../protocol/index.ts';
import { BridgeCore } from './core.ts';
import { resolveLimits, type BridgeLimits } from './limits.ts';
import {
  attachStdio,
  listenTcp,
  listenUnix,
  type BridgeAddress,
  type Listener,
  type TransportSpec,
} from './transports.ts';
import {
  REAL_CLOCK,
  SILENT_LOGGER,
  type BridgeClock,
  type BridgeCounters,
  type BridgeLogger,
  type BridgeRuntime,
} from './types.ts';

export interface BridgeServerOptions {
  readonly runtime: BridgeRuntime;
  readonly transports: readonly TransportSpec[];
  readonly limits?: Partial<BridgeLimits>;
  /** pino or compatible. With the stdio transport it must not write to stdout. */
  readonly logger?: BridgeLogger;
  readonly clock?: BridgeClock;
}

export interface BridgeServerHandle {
  readonly addresses: readonly BridgeAddress[];
  readonly limits: BridgeLimits;
  /** A snapshot of the server's counters. */
  counters(): BridgeCounters;
  /** Sends SHUTTING_DOWN to every client, closes their streams in the runtime and stops listening. */
  close(): Promise<void>;
}

/** Creates the transport-independent core (tests use it to drive connections in-process). */
export function createBridgeCore(options: Omit<BridgeServerOptions, 'transports'>): BridgeCore {
  return new BridgeCore({
    runtime: options.runtime,
    limits: resolveLimits(options.limits),
    clock: options.clock ?? REAL_CLOCK,
    logger: options.logger ?? SILENT_LOGGER,
  });
}

export async function startBridgeServer(options: BridgeServerOptions): Promise<BridgeServerHandle> {
  if (options.transports.length === 0)
    throw new BridgeError('BAD_CONFIG', 'at least one transport is needed');
  const core = createBridgeCore(options);
  const listeners: Listener[] = [];
  try {
    for (const spec of options.transports) {
      switch (spec.kind) {
        case 'unix':
          listeners.push(await listenUnix(core, spec.path, spec.mode));
          break;
        case 'tcp':
          listeners.push(await listenTcp(core, spec.host, spec.port));
          break;
        case 'stdio':
          listeners.push(attachStdio(core, spec.input, spec.output));
          break;
      }
    }
  } catch (error) {
    core.shutdown();
    await Promise.all(listeners.map((l) => l.close()));
    throw error;
  }
  core.logger.info(
    { event: 'bridge.listen', addresses: listeners.map((l) => l.address) },
    'firmware bridge listening',
  );
  let closing: Promise<void> | null = null;
  return {
    addresses: listeners.map((l) => l.address),
    limits: core.limits,
    counters: () => structuredClone(core.counters),
    close: () => {
      closing ??= (async () => {
        core.shutdown();
        await Promise.all(listeners.map((l) => l.close()));
      })();
      return closing;
    },
  };
}
