// The device's whole telemetry transport, wired the one correct way: the durable outbox, the MQTT
// device client draining it, and the update receiver whose statuses go through the outbox. The
// runtime supplies the lifecycle's two entry points (signed commands, staged bundles) and, if it
// signs telemetry, a seal for update statuses. Everything else (reports, events, audit checkpoints)
// is enqueued by its producers on `transport.outbox`.
import path from 'node:path';
import { DeviceClient } from '../mqtt/client.ts';
import type { ClientState, CommandRejection } from '../mqtt/client.ts';
import type { MqttError } from '../mqtt/errors.ts';
import { Outbox } from '../outbox/outbox.ts';
import type { EvictionRecord } from '../outbox/outbox.ts';
import { UpdateReceiver } from './receiver.ts';
import type { InstallResult, UpdateLimits } from './receiver.ts';
import { outboxStatusSink } from './status.ts';
import type { UpdateStatusKind } from './status.ts';

export interface DeviceTransportConfig {
  /** Holds `outbox.db` and `staging/` (keep it on the device's persistent, private storage). */
  readonly dataDir: string;
  /** DeviceClient options (validated: url, fleet, device, cohort, tls, …). */
  readonly mqtt: Readonly<Record<string, unknown>> & { readonly fleet: string; readonly device: string };
  /** Outbox bounds (outboxMaxBytes, outboxMaxAgeS, outboxMaxEntryBytes). */
  readonly outbox?: unknown;
  readonly updateLimits?: Partial<UpdateLimits>;
}

export interface DeviceTransportHooks {
  /** Inbound commands (size-capped), for the lifecycle's signed-command checks. */
  readonly onCommand: (payload: Uint8Array, topic: string) => void | Promise<void>;
  /** A command the transport refused unread (above maxCommandBytes), for the lifecycle's audit log. */
  readonly onCommandRejected?: (rejection: CommandRejection) => void | Promise<void>;
  /** The lifecycle's install path for a staged bundle (see UpdateReceiverDeps). */
  readonly onBundleStaged: (path: string, transferId: string) => InstallResult | Promise<InstallResult>;
  /** Wraps each update status, e.g. COSE_Sign1 with the device key. */
  readonly sealStatus?: (payload: Uint8Array) => Uint8Array;
  readonly birthInfo?: () => Readonly<Record<string, string | number | boolean>>;
  readonly onError?: (error: MqttError) => void;
  readonly onStateChange?: (state: ClientState) => void;
  readonly onEvicted?: (records: readonly EvictionRecord[]) => void;
}

export interface DeviceTransport {
  readonly outbox: Outbox;
  readonly client: DeviceClient;
  readonly receiver: UpdateReceiver;
  start(): void;
  /** Later update stages from the lifecycle (verified, installed, shadow, promoted, rejected). */
  reportUpdateStatus(
    transferId: string,
    status: Exclude<UpdateStatusKind, 'accepted' | 'progress' | 'need'>,
    code?: string,
  ): void;
  /** Stops the client (graceful by default), then closes the receiver and the outbox. */
  stop(options?: { graceful?: boolean }): Promise<void>;
}

export function openDeviceTransport(
  config: DeviceTransportConfig,
  hooks: DeviceTransportHooks,
): DeviceTransport {
  const outbox = Outbox.open(path.join(config.dataDir, 'outbox.db'), config.outbox ?? {});
  let receiver: UpdateReceiver;
  let client: DeviceClient;
  try {
    const unsubscribe = hooks.onEvicted ? outbox.onEvicted(hooks.onEvicted) : null;
    receiver = UpdateReceiver.open(
      {
        fleet: config.mqtt.fleet,
        device: config.mqtt.device,
        ...(typeof config.mqtt.cohort === 'string' ? { cohort: config.mqtt.cohort } : {}),
        stagingDir: path.join(config.dataDir, 'staging'),
        ...(config.updateLimits ? { limits: config.updateLimits } : {}),
      },
      {
        onBundleStaged: hooks.onBundleStaged,
        emitStatus: outboxStatusSink(outbox, config.mqtt, hooks.sealStatus),
      },
    );
    try {
      client = new DeviceClient(config.mqtt, {
        outbox,
        onCommand: hooks.onCommand,
        ...(hooks.onCommandRejected ? { onCommandRejected: hooks.onCommandRejected } : {}),
        onUpdate: (payload, topic) => receiver.handleMessage(payload, topic),
        onConnected: () => {
          receiver.onConnected();
        },
        onDisconnected: () => {
          receiver.onDisconnected();
        },
        ...(hooks.birthInfo ? { birthInfo: hooks.birthInfo } : {}),
        ...(hooks.onError ? { onError: hooks.onError } : {}),
        ...(hooks.onStateChange ? { onStateChange: hooks.onStateChange } : {}),
      });
    } catch (error) {
      receiver.close();
      unsubscribe?.();
      throw error;
    }
  } catch (error) {
    outbox.close();
    throw error;
  }
  return {
    outbox,
    client,
    receiver,
    start: () => {
      client.start();
    },
    reportUpdateStatus: (transferId, status, code) => {
      receiver.reportUpdateStatus(transferId, status, code);
    },
    stop: async (options = {}) => {
      await client.stop(options);
      receiver.close();
      outbox.close();
    },
  };
}
