// Test-side helpers: payloads that carry their own (device, sequence), a deduplicating receiver
// standing in for the collector, and a connect gate for device clients.
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A test message of exactly `size` bytes whose JSON names its device and sequence. */
export function testPayload(device: string, seq: number, size = 200): Uint8Array {
  const head = JSON.stringify({ d: device, s: seq, p: '' });
  const pad = Math.max(0, size - head.length);
  return encoder.encode(JSON.stringify({ d: device, s: seq, p: 'x'.repeat(pad) }));
}

export function parseTestPayload(bytes: Uint8Array): { device: string; seq: number } | null {
  try {
    const v = JSON.parse(decoder.decode(bytes)) as { d?: unknown; s?: unknown };
    if (typeof v.d === 'string' && typeof v.s === 'number') return { device: v.d, seq: v.s };
  } catch {
    return null;
  }
  return null;
}

/**
 * Subscribes to a fleet's telemetry and dedupes by (device, sequence), as the collector does.
 * `ready` is true only while the subscription is confirmed on the current connection (a broker
 * restarted without persistence has forgotten it).
 */
export class DedupeReceiver {
  received = 0;
  duplicates = 0;
  readonly seen = new Map<string, Set<number>>();
  ready = false;
  private constructor(private readonly client: MqttClient) {}

  static async start(
    url: string,
    filters: readonly string[],
    protocolVersion: 4 | 5 = 4,
  ): Promise<DedupeReceiver> {
    const client = mqtt.connect(url, {
      // A persistent session: a broker that keeps state re-sends what was in flight to us.
      clientId: `test-receiver-${Math.random().toString(16).slice(2, 10)}`,
      clean: false,
      protocolVersion,
      reconnectPeriod: 50,
      resubscribe: false,
      connectTimeout: 2000,
    });
    client.on('error', () => undefined);
    const receiver = new DedupeReceiver(client);
    client.on('close', () => {
      receiver.ready = false;
    });
    client.on('connect', () => {
      client.subscribe([...filters], { qos: 1 }, (error) => {
        if (!error) receiver.ready = true;
      });
    });
    client.on('message', (_topic, payload) => {
      const parsed = parseTestPayload(new Uint8Array(payload));
      if (!parsed) return;
      receiver.received += 1;
      let set = receiver.seen.get(parsed.device);
      if (!set) {
        set = new Set();
        receiver.seen.set(parsed.device, set);
      }
      if (set.has(parsed.seq)) receiver.duplicates += 1;
      else set.add(parsed.seq);
    });
    await waitUntil(() => receiver.ready, 5000, 'receiver subscription');
    return receiver;
  }

  unique(device: string): number {
    return this.seen.get(device)?.size ?? 0;
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A connect function for DeviceClient that holds the connection until `isOpen()`. Used after a
 * broker restart: a broker without persistence has lost the collector's subscription, so a device
 * reconnecting first would have its backlog acknowledged and dropped. In production the collector's
 * subscription is persistent; this gate stands in for that.
 */
export function gatedConnect(isOpen: () => boolean) {
  return (url: string, options: IClientOptions): MqttClient => {
    const client = mqtt.connect(url, { ...options, manualConnect: true });
    const go = (): void => {
      if (isOpen()) client.connect();
      else setTimeout(go, 10);
    };
    go();
    return client;
  };
}
