// Outbox + device client against both brokers: the broker is killed mid-stream and restarted, then
// the device client is restarted mid-stream over the same outbox file; every message must reach the
// receiver exactly once after dedupe by (device, sequence).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceClient } from '../../../monitor/mqtt/index.ts';
import type { MqttError } from '../../../monitor/mqtt/index.ts';
import { Outbox } from '../../../monitor/outbox/index.ts';
import { BROKERS } from './brokers.ts';
import type { BrokerHandle } from './brokers.ts';
import { DedupeReceiver, gatedConnect, testPayload, waitUntil } from './receiver.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const FLEET = 'fleet-a';
const DEVICE = 'dev-1';
const STEPS = 120;
const PER_STEP = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BROKERS)('delivery through an outage and a device restart ($name)', ({ name, start }) => {
  it('delivers every enqueued message exactly once after dedupe', async () => {
    const broker: BrokerHandle = await start();
    cleanups.push(() => broker.stop());
    const receiver = await DedupeReceiver.start(broker.url, [`vigil/v1/${FLEET}/+/report`]);
    cleanups.push(() => receiver.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-delivery-'));
    cleanups.push(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const file = path.join(dir, 'outbox.db');
    const errors: MqttError[] = [];

    const makeClient = (outbox: Outbox) =>
      new DeviceClient(
        {
          url: broker.url,
          fleet: FLEET,
          device: DEVICE,
          reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
          connectTimeoutMs: 2000,
        },
        { outbox, onError: (e) => errors.push(e), connect: gatedConnect(() => receiver.ready) },
      );

    let outbox = Outbox.open(file);
    let client = makeClient(outbox);
    client.start();
    const protocols = new Set<number>();
    let deviceRestarts = 0;
    let pendingAtRestart = 0;
    for (let step = 0; step < STEPS; step += 1) {
      outbox.enqueueMany(
        Array.from({ length: PER_STEP }, () => ({
          class: 'routine-report' as const,
          topicSuffix: 'report',
          payload: (seq: number) => testPayload(DEVICE, seq),
        })),
      );
      if (client.state.kind === 'online') protocols.add(client.state.protocol);
      if (step === 20) await broker.kill();
      if (step === 60) {
        pendingAtRestart = outbox.stats().pending;
        await broker.restart();
      }
      if (step === 90) {
        // A crash-like restart: the socket drops with publishes in flight, a new instance reopens the file.
        await client.stop({ graceful: false });
        outbox.close();
        outbox = Outbox.open(file);
        client = makeClient(outbox);
        client.start();
        deviceRestarts += 1;
      }
      await sleep(8);
    }
    const total = STEPS * PER_STEP;
    await client.whenDrained();
    await waitUntil(() => receiver.unique(DEVICE) === total, 10_000, 'all messages at the receiver');
    if (client.state.kind === 'online') protocols.add(client.state.protocol);
    const stats = outbox.stats();
    await client.stop();
    outbox.close();

    const seqs = [...(receiver.seen.get(DEVICE) ?? [])].sort((a, b) => a - b);
    expect(seqs.length).toBe(total);
    expect(seqs[0]).toBe(1);
    expect(seqs.at(-1)).toBe(total);
    expect(stats).toMatchObject({ written: total, delivered: total, evicted: 0, pending: 0 });
    expect(deviceRestarts).toBe(1);
    // The outage was real: 40 steps of messages were held by the outbox while the broker was down.
    expect(pendingAtRestart).toBeGreaterThanOrEqual(39 * PER_STEP);
    expect(protocols).toEqual(new Set(name === 'aedes' ? [4] : [5]));
    // Only connection failures are expected while the broker is down (and Aedes's MQTT 5 refusal).
    for (const e of errors) expect(['CONNECT_FAILED', 'PROTOCOL_FALLBACK']).toContain(e.code);
    console.log(
      `[outbox figures ${name}] ${JSON.stringify({
        written: stats.written,
        delivered: stats.delivered,
        evicted: stats.evicted,
        receivedRaw: receiver.received,
        deduped: receiver.duplicates,
        pendingAtBrokerRestart: pendingAtRestart,
        unique: seqs.length,
      })}`,
    );
  });
});
