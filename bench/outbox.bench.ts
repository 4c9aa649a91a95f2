// Outbox + device client throughput to an in-process Aedes broker, against raw mqtt.js pipelined
// QoS 1 publishing of the same 200-byte messages with the same in-flight window, in the same run.
// Two figures for the outbox: draining a backlog (what matters after an outage: entries already on
// disk, deleted on PUBACK) and end to end with one fsynced enqueue per message.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { DeviceClient } from '../monitor/mqtt/index.ts';
import { Outbox } from '../monitor/outbox/index.ts';
import type { BenchFigure } from './harness.ts';

export const name = 'outbox';

const MESSAGES = 20_000;
/** Live mode is bound by one fsync per enqueue: fewer messages keep the run short. */
const LIVE_MESSAGES = 2000;
const PAYLOAD_BYTES = 200;
const WINDOW = 64;

async function withBroker<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  try {
    return await fn(url);
  } finally {
    await new Promise<void>((resolve) => {
      broker.close(() => {
        resolve();
      });
    });
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }
}

async function rawRate(url: string): Promise<number> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  const payload = Buffer.alloc(PAYLOAD_BYTES, 7);
  const start = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < MESSAGES) {
      next += 1;
      await client.publishAsync('vigil/v1/bench/raw/report', payload, { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  const seconds = (performance.now() - start) / 1000;
  await client.endAsync();
  return MESSAGES / seconds;
}

async function outboxRate(url: string, mode: 'backlog' | 'live', round: number): Promise<number> {
  const total = mode === 'live' ? LIVE_MESSAGES : MESSAGES;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-outbox-'));
  const outbox = Outbox.open(path.join(dir, 'outbox.db'), { outboxMaxBytes: 64 * 1024 * 1024 });
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(7);
  const entry = { class: 'routine-report' as const, topicSuffix: 'report', payload };
  if (mode === 'backlog') {
    for (let i = 0; i < total; i += 500) outbox.enqueueMany(Array.from({ length: 500 }, () => entry));
  }
  const client = new DeviceClient(
    { url, fleet: 'bench', device: `outbox-${mode}-${round}`, protocol: '3.1.1', inflightWindow: WINDOW },
    { outbox },
  );
  const start = performance.now();
  client.start();
  if (mode === 'live') {
    for (let i = 0; i < total; i += 1) {
      outbox.enqueue(entry);
      // Let PUBACKs in now and then, as a device's event loop would.
      if (i % 64 === 63) await new Promise((r) => setImmediate(r));
    }
  }
  await new Promise((r) => setTimeout(r, 1));
  await client.whenDrained();
  const seconds = (performance.now() - start) / 1000;
  const delivered = outbox.stats().delivered;
  await client.stop();
  outbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (delivered !== total) throw new Error(`delivered ${delivered} of ${total}`);
  return total / seconds;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export async function run(log: (line: string) => void): Promise<BenchFigure[]> {
  return withBroker(async (url) => {
    await rawRate(url); // warm-up (JIT, broker)
    await outboxRate(url, 'backlog', -1);
    // Interleaved rounds, medians: the machines are shared and noisy.
    const raws: number[] = [];
    const backlogs: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      raws.push(await rawRate(url));
      backlogs.push(await outboxRate(url, 'backlog', round));
    }
    const live = await outboxRate(url, 'live', 0);
    const baseline = median(raws);
    const backlog = median(backlogs);
    log(`raw mqtt.js ${raws.map((r) => r.toFixed(0)).join(', ')} msg/s`);
    log(`outbox backlog drain ${backlogs.map((r) => r.toFixed(0)).join(', ')} msg/s`);
    log(`outbox live (one fsynced enqueue per message) ${live.toFixed(0)} msg/s`);
    const base = `raw mqtt.js QoS 1, ${WINDOW} in flight, ${PAYLOAD_BYTES}-byte messages, in-process Aedes`;
    return [
      {
        bench: 'collector-outbox-drain',
        metric: 'throughput_ratio',
        value: Number((backlog / baseline).toFixed(3)),
        unit: 'ratio',
        baseline: base,
        goal: '',
      },
      {
        bench: 'collector-outbox-live',
        metric: 'throughput_ratio',
        value: Number((live / baseline).toFixed(3)),
        unit: 'ratio',
        baseline: base,
        goal: '',
      },
      {
        bench: 'collector-outbox-drain',
        metric: 'messages_per_s',
        value: Math.round(backlog),
        unit: 'msg/s',
        baseline: 'plain figure',
        goal: '',
      },
      {
        bench: 'collector-outbox-raw',
        metric: 'messages_per_s',
        value: Math.round(baseline),
        unit: 'msg/s',
        baseline: 'plain figure',
        goal: '',
      },
    ];
  });
}
