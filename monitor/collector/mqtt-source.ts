// The collector's broker connection (docs/collector.md "Ingest"). It subscribes to the fleet's topics
// (monitor/mqtt fleetFilters) at QoS 1, and with MQTT 5 uses a shared subscription
// (`$share/{group}/…`) for reports, events, audit and update statuses, so several collectors can
// split one fleet; birth/death `state` stays a plain subscription because brokers do not deliver
// retained messages to shared subscriptions (MQTT 5 §4.8.2) and every collector wants all states.
//
// Each message is handed to the sink (which journals it durably) BEFORE mqtt.js acknowledges it:
// `handleMessage` calls back only then, and waits while the sink is over its queue limit, which
// pushes back onto the broker instead of growing memory.
import mqtt from 'mqtt';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { TOPIC_ROOT, fleetFilters } from '../mqtt/index.ts';
import { CollectorError } from './errors.ts';

export interface MessageSink {
  /** `seqHint`: the MQTT 5 user property `vigil-seq` (diagnostic, unauthenticated) when present. */
  accept(topic: string, payload: Uint8Array, seqHint?: number | null): void;
  readonly overloaded: boolean;
  whenBelowLimit(): Promise<void>;
}

export interface MqttSourceOptions {
  readonly url: string;
  /** The fleet to follow (null: every fleet under vigil/v1, e.g. one collector per broker). */
  readonly fleet: string | null;
  /** Stable per collector instance: the broker keeps its session (and queued messages) across restarts. */
  readonly clientId?: string;
  readonly protocol?: 'auto' | '3.1.1' | '5';
  /** Shared-subscription group with MQTT 5 (null: plain subscriptions). */
  readonly shareGroup?: string | null;
  readonly sessionExpiryS?: number;
  readonly username?: string;
  readonly password?: string;
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly rejectUnauthorized?: boolean;
  readonly connectTimeoutMs?: number;
  /** Clean session (tests); the default keeps the session so a restart loses nothing queued. */
  readonly clean?: boolean;
}

export interface MqttSource {
  readonly protocol: 4 | 5;
  readonly shared: boolean;
  readonly filters: readonly string[];
  readonly client: MqttClient;
  connected(): boolean;
  close(): Promise<void>;
}

export async function connectMqttSource(options: MqttSourceOptions, sink: MessageSink): Promise<MqttSource> {
  const choice = options.protocol ?? 'auto';
  const first: 4 | 5 = choice === '3.1.1' ? 4 : 5;
  try {
    return await connectWith(options, sink, first);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (choice === 'auto' && first === 5 && (code === 1 || code === 132))
      return connectWith(options, sink, 4);
    throw new CollectorError('BAD_OPTIONS', `cannot connect to ${options.url}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function connectWith(
  options: MqttSourceOptions,
  sink: MessageSink,
  protocol: 4 | 5,
): Promise<MqttSource> {
  const mqttOptions: IClientOptions = {
    clientId: options.clientId ?? `vigil-collector-${options.fleet ?? 'all'}`,
    clean: options.clean ?? false,
    protocolVersion: protocol,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    reconnectPeriod: 0,
    resubscribe: true,
  };
  // A clean session must not outlive the connection: in a shared-subscription group an expired-later
  // session of a collector that has gone keeps receiving its share of the messages into a queue.
  if (protocol === 5) {
    mqttOptions.properties = {
      sessionExpiryInterval: options.clean === true ? 0 : (options.sessionExpiryS ?? 86_400),
    };
  }
  if (options.username !== undefined) mqttOptions.username = options.username;
  if (options.password !== undefined) mqttOptions.password = options.password;
  if (options.ca !== undefined) mqttOptions.ca = options.ca;
  if (options.cert !== undefined) mqttOptions.cert = options.cert;
  if (options.key !== undefined) mqttOptions.key = options.key;
  if (options.rejectUnauthorized !== undefined) mqttOptions.rejectUnauthorized = options.rejectUnauthorized;
  // The handler must be in place before CONNACK: a resumed session's queued messages follow at once.
  const client = mqtt.connect(options.url, mqttOptions);
  client.handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void): void => {
    const payload = packet.payload;
    const bytes =
      typeof payload === 'string'
        ? new Uint8Array(Buffer.from(payload))
        : new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
    const raw = packet.properties?.userProperties?.['vigil-seq'];
    const hint = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : null;
    try {
      sink.accept(packet.topic, Uint8Array.from(bytes), hint);
    } catch (error) {
      callback(error as Error); // not acknowledged: the broker redelivers after a reconnect
      return;
    }
    if (sink.overloaded) {
      void sink.whenBelowLimit().then(() => {
        callback();
      });
    } else callback();
  };
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error): void => {
      client.off('connect', ok);
      client.off('close', closed);
      client.end(true);
      reject(error);
    };
    const closed = (): void => {
      fail(new Error('the connection closed before the broker accepted it'));
    };
    const ok = (): void => {
      client.off('error', fail);
      client.off('close', closed);
      resolve();
    };
    client.once('connect', ok);
    client.once('error', fail);
    client.once('close', closed);
  });
  client.options.reconnectPeriod = 1000;
  client.on('error', () => undefined); // mqtt.js reconnects on its own; the sink counts what arrives
  const f =
    options.fleet === null
      ? {
          state: `${TOPIC_ROOT}/+/+/state`,
          report: `${TOPIC_ROOT}/+/+/report`,
          event: `${TOPIC_ROOT}/+/+/event`,
          audit: `${TOPIC_ROOT}/+/+/audit`,
          updateStatus: `${TOPIC_ROOT}/+/+/update/status`,
        }
      : fleetFilters(options.fleet);
  const group = options.shareGroup === undefined ? 'vigil-collectors' : options.shareGroup;
  const shared = protocol === 5 && group !== null;
  const share = (filter: string): string => (shared ? `$share/${group}/${filter}` : filter);
  const filters = [f.state, share(f.report), share(f.event), share(f.audit), share(f.updateStatus)];
  const granted = await client.subscribeAsync(filters, { qos: 1 });
  if (granted.some((g) => g.qos !== 0 && g.qos !== 1 && g.qos !== 2)) {
    await client.endAsync(true);
    throw new CollectorError('BAD_OPTIONS', `the broker refused a subscription of ${filters.join(', ')}`);
  }
  return {
    protocol,
    shared,
    filters,
    client,
    connected: () => client.connected,
    async close() {
      await client.endAsync();
    },
  };
}
