// A plain fleet-side MQTT connection for tools (`vigil push`, tests): clean session, mqtt.js's own
// reconnect and resubscribe, MQTT 5 with a fallback to 3.1.1. Devices use DeviceClient instead.
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { MqttError } from './errors.ts';
import { resolveTls } from './options.ts';
import type { ProtocolChoice, TlsOptions } from './options.ts';
import { topicMatches } from './topics.ts';

export interface OperatorOptions {
  readonly url: string;
  readonly clientId?: string;
  readonly protocol?: ProtocolChoice;
  readonly tls?: Partial<TlsOptions>;
  readonly username?: string;
  readonly password?: string;
  readonly connectTimeoutMs?: number;
  /** mqtt.js reconnect period once connected (default 1000 ms). */
  readonly reconnectPeriodMs?: number;
}

export type MessageHandler = (topic: string, payload: Uint8Array, retained: boolean) => void;

export interface OperatorConnection {
  readonly protocol: 4 | 5;
  readonly client: MqttClient;
  publish(topic: string, payload: Uint8Array, options?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  /** Subscribes (QoS 1) and routes messages matching any of `filters` to `handler`. */
  subscribe(filters: readonly string[], handler: MessageHandler): Promise<void>;
  end(): Promise<void>;
}

export async function connectOperator(options: OperatorOptions): Promise<OperatorConnection> {
  const choice = options.protocol ?? 'auto';
  const first: 4 | 5 = choice === '3.1.1' ? 4 : 5;
  try {
    return await connectWith(options, first);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (choice === 'auto' && first === 5 && (code === 1 || code === 132)) return connectWith(options, 4);
    throw new MqttError('CONNECT_FAILED', `${options.url}: ${(error as Error).message}`, { cause: error });
  }
}

async function connectWith(options: OperatorOptions, protocol: 4 | 5): Promise<OperatorConnection> {
  const mqttOptions: IClientOptions = {
    clientId: options.clientId ?? `vigil-op-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    protocolVersion: protocol,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    reconnectPeriod: 0,
  };
  if (options.username !== undefined) mqttOptions.username = options.username;
  if (options.password !== undefined) mqttOptions.password = options.password;
  if (options.tls) {
    const tls = resolveTls(options.tls);
    mqttOptions.rejectUnauthorized = tls.rejectUnauthorized;
    if (tls.ca !== undefined) mqttOptions.ca = tls.ca;
    if (tls.cert !== undefined) mqttOptions.cert = tls.cert;
    if (tls.key !== undefined) mqttOptions.key = tls.key;
    if (tls.servername !== undefined) mqttOptions.servername = tls.servername;
  }
  const client = await mqtt.connectAsync(options.url, mqttOptions);
  client.options.reconnectPeriod = options.reconnectPeriodMs ?? 1000;
  client.on('error', () => undefined); // reconnect failures: mqtt.js keeps trying
  const routes: { filters: readonly string[]; handler: MessageHandler }[] = [];
  client.on('message', (topic, payload, packet) => {
    const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
    for (const route of routes) {
      if (route.filters.some((f) => topicMatches(f, topic))) route.handler(topic, bytes, packet.retain);
    }
  });
  return {
    protocol,
    client,
    async publish(topic, payload, opts = {}) {
      await client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), {
        qos: opts.qos ?? 1,
        retain: opts.retain ?? false,
      });
    },
    async subscribe(filters, handler) {
      routes.push({ filters, handler });
      const granted = await client.subscribeAsync([...filters], { qos: 1 });
      if (granted.some((g) => g.qos !== 0 && g.qos !== 1 && g.qos !== 2)) {
        throw new MqttError('SUBSCRIBE_FAILED', `the broker refused ${filters.join(', ')}`);
      }
    },
    async end() {
      await client.endAsync(true);
    },
  };
}
