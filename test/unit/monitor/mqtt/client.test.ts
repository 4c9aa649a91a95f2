// DeviceClient against a scripted fake mqtt.js client: reconnect delays follow the seeded backoff,
// MQTT 5 refusal falls back to 3.1.1 at once, the drain respects the in-flight window and sequence
// order (again from the oldest held entry after a reconnect), inbound commands are acknowledged after
// their handler.
import { EventEmitter } from 'node:events';
import type { IClientOptions, MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import {
  BACKOFF_DEFAULTS,
  DeviceClient,
  backoffDelayMs,
  seededRandom,
  type MqttError,
} from '../../../../monitor/mqtt/index.ts';
import { Outbox } from '../../../../monitor/outbox/index.ts';

class FakeClient extends EventEmitter {
  readonly published: { topic: string; seq: number | null; cb: (error?: Error) => void }[] = [];
  handleMessage: (packet: unknown, done: (error?: Error) => void) => void = () => undefined;
  constructor(readonly options: IClientOptions) {
    super();
  }
  publish(topic: string, payload: Buffer, _opts: unknown, cb: (error?: Error) => void): void {
    const text = payload.toString('utf8');
    this.published.push({ topic, seq: /^seq=(\d+)$/.test(text) ? Number(text.slice(4)) : null, cb });
  }
  subscribeAsync(filters: string[]) {
    return Promise.resolve(filters.map((topic) => ({ topic, qos: 1 })));
  }
  publishAsync() {
    return Promise.resolve();
  }
  endAsync() {
    return Promise.resolve();
  }
  end(_force?: boolean, _opts?: unknown, cb?: () => void) {
    cb?.();
    return this;
  }
}

function harness(options: Record<string, unknown> = {}) {
  const outbox = Outbox.open(
    ':memory:',
    {},
    {
      defer: (fn) => {
        fn();
      },
    },
  );
  const clients: FakeClient[] = [];
  const delays: number[] = [];
  const due: (() => void)[] = [];
  const errors: MqttError[] = [];
  const client = new DeviceClient(
    { url: 'mqtt://127.0.0.1:1', fleet: 'f', device: 'd', jitterSeed: 5, ...options },
    {
      outbox,
      onError: (error) => errors.push(error),
      connect: (_url, opts) => {
        const fake = new FakeClient(opts);
        clients.push(fake);
        return fake as unknown as MqttClient;
      },
      timers: {
        setTimeout: (fn, ms) => {
          delays.push(ms);
          due.push(fn);
          return due.length;
        },
        clearTimeout: () => undefined,
      },
    },
  );
  const enqueue = (n: number) =>
    outbox.enqueueMany(
      Array.from({ length: n }, () => ({
        class: 'routine-report' as const,
        topicSuffix: 'report',
        payload: (seq: number) => new TextEncoder().encode(`seq=${seq}`),
      })),
    );
  const fire = () => due.shift()?.();
  const last = () => clients.at(-1) as FakeClient;
  const online = async (c: FakeClient, sessionPresent = false) => {
    c.emit('connect', { sessionPresent });
    await new Promise((r) => setImmediate(r));
  };
  return { client, outbox, clients, delays, errors, fire, last, online, enqueue };
}

describe('DeviceClient (scripted broker)', () => {
  it('waits the seeded exponential backoff between failed attempts, and resets after a success', async () => {
    const h = harness({ protocol: '3.1.1' });
    h.client.start();
    for (let i = 0; i < 5; i += 1) {
      h.last().emit('error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      h.last().emit('close');
      h.fire();
    }
    const random = seededRandom(5, 'd');
    expect(h.delays).toEqual([0, 1, 2, 3, 4].map((a) => backoffDelayMs(BACKOFF_DEFAULTS, a, random)));
    expect(h.clients).toHaveLength(6);
    expect(h.clients.every((c) => c.options.clean === false && c.options.clientId === 'vigil-f-d')).toBe(
      true,
    );
    await h.online(h.last());
    h.last().emit('close');
    expect(h.delays.at(-1)).toBeLessThanOrEqual(BACKOFF_DEFAULTS.initialDelayMs);
    await h.client.stop();
  });

  it('falls back to MQTT 3.1.1 at once when the broker refuses MQTT 5', () => {
    const h = harness();
    h.client.start();
    expect(h.last().options.protocolVersion).toBe(5);
    h.last().emit(
      'error',
      Object.assign(new Error('Connection refused: Unacceptable protocol version'), { code: 1 }),
    );
    h.last().emit('close');
    expect(h.delays).toEqual([0]);
    h.fire();
    expect(h.last().options.protocolVersion).toBe(4);
    // The Will carries the birth sequence of its own connection.
    const wills = h.clients.map((c) => JSON.parse(String(c.options.will?.payload)) as { bdSeq: number });
    expect(wills.map((w) => w.bdSeq)).toEqual([1, 2]);
  });

  it('drains in sequence order within the window, and from the oldest held entry after a reconnect', async () => {
    const h = harness({ protocol: '3.1.1', inflightWindow: 8 });
    h.enqueue(40);
    h.client.start();
    const first = h.last();
    await h.online(first);
    const reports = () => first.published.filter((p) => p.seq !== null);
    expect(reports().map((p) => p.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Two PUBACKs: 6 in flight, the refill threshold (a quarter of the window free) is reached.
    reports()[0]?.cb();
    reports()[1]?.cb();
    expect(reports().map((p) => p.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    reports()[4]?.cb(); // 5 acknowledged out of order
    expect(
      h.outbox
        .pending(0, 100)
        .map((e) => e.seq)
        .slice(0, 4),
    ).toEqual([3, 4, 6, 7]);
    // The connection drops: 3, 4, 6… were in flight and are published again, oldest first.
    first.emit('close');
    h.fire();
    const second = h.last();
    await h.online(second, true);
    expect(second.published.filter((p) => p.seq !== null).map((p) => p.seq)).toEqual([
      3, 4, 6, 7, 8, 9, 10, 11,
    ]);
    // Late callbacks of the dead connection change nothing.
    reports()[2]?.cb();
    expect(h.outbox.pending(0, 1)[0]?.seq).toBe(3);
    await h.client.stop();
  });

  it('sends an entry the broker refused again on the same connection, after a backoff, until it is acknowledged', async () => {
    const h = harness({ protocol: '5', inflightWindow: 8 });
    h.enqueue(3);
    h.client.start();
    const conn = h.last();
    await h.online(conn);
    const reports = () => conn.published.filter((p) => p.seq !== null);
    expect(reports().map((p) => p.seq)).toEqual([1, 2, 3]);
    const delaysBefore = h.delays.length;
    // The broker refuses 2 (an MQTT 5 PUBACK with 0x97 Quota exceeded) and acknowledges 1 and 3.
    reports()[1]?.cb(Object.assign(new Error('Quota exceeded'), { code: 0x97 }));
    reports()[0]?.cb();
    reports()[2]?.cb();
    expect(h.outbox.pending(0, 10).map((e) => e.seq)).toEqual([2]);
    expect(h.client.stats().refused).toBe(1);
    // A retry is scheduled with the reconnect backoff; the next enqueued entry is not held behind it.
    expect(h.delays.length).toBe(delaysBefore + 1);
    h.enqueue(1);
    expect(reports().map((p) => p.seq)).toEqual([1, 2, 3, 4]);
    reports()[3]?.cb();
    h.fire();
    expect(reports().map((p) => p.seq)).toEqual([1, 2, 3, 4, 2]);
    // Refused once more: the next retry waits longer (exponential backoff), then it goes through.
    reports()[4]?.cb(Object.assign(new Error('Quota exceeded'), { code: 0x97 }));
    expect(h.delays.length).toBe(delaysBefore + 2);
    h.fire();
    reports()[5]?.cb();
    expect(h.outbox.pending(0, 10)).toEqual([]);
    expect(h.outbox.stats().delivered).toBe(4);
    expect(h.client.stats().refused).toBe(2);
    // A retry due after the outbox closed reports OUTBOX_FAILED instead of throwing from its timer.
    h.enqueue(1);
    reports()[6]?.cb(Object.assign(new Error('Quota exceeded'), { code: 0x97 }));
    h.outbox.close();
    expect(() => h.fire()).not.toThrow();
    expect(h.errors.map((e) => e.code)).toContain('OUTBOX_FAILED');
    await h.client.stop();
  });

  it('subscribes only when the broker has no session, and acknowledges a command after its handler', async () => {
    const calls: string[] = [];
    const outbox = Outbox.open(':memory:');
    let fake: FakeClient | null = null;
    const subscribed: string[][] = [];
    const client = new DeviceClient(
      { url: 'mqtt://127.0.0.1:1', fleet: 'f', device: 'd', protocol: '3.1.1' },
      {
        outbox,
        onCommand: async (payload, topic) => {
          await new Promise((r) => setTimeout(r, 5));
          calls.push(`${topic}:${new TextDecoder().decode(payload)}`);
        },
        connect: (_url, opts) => {
          fake = new FakeClient(opts);
          const sub = fake.subscribeAsync.bind(fake);
          fake.subscribeAsync = (filters: string[]) => {
            subscribed.push(filters);
            return sub(filters);
          };
          return fake as unknown as MqttClient;
        },
      },
    );
    client.start();
    const f = fake as unknown as FakeClient;
    f.emit('connect', { sessionPresent: false });
    await new Promise((r) => setImmediate(r));
    expect(subscribed).toEqual([['vigil/v1/f/d/cmd/#', 'vigil/v1/f/cmd/#']]);
    const acked = await new Promise<string[]>((resolve) => {
      f.handleMessage({ topic: 'vigil/v1/f/d/cmd/freeze', payload: Buffer.from('x') }, () => {
        resolve([...calls]);
      });
    });
    expect(acked).toEqual(['vigil/v1/f/d/cmd/freeze:x']);
    await client.stop();
    outbox.close();
  });
});
