import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeClient, type BridgeClientOptions } from '../../../../firmware-bridge/client/index.ts';
import { BridgeError, encodeFrame, type ResultMessage } from '../../../../firmware-bridge/protocol/index.ts';
import {
  startBridgeServer,
  type BridgeLimits,
  type BridgeServerHandle,
} from '../../../../firmware-bridge/server/index.ts';
import { FakeRuntime } from '../helpers.ts';

let dir: string;
let cleanup: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bridge-client-'));
});

afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

async function server(
  socketPath: string,
  limits: Partial<BridgeLimits> = {},
  runtime = new FakeRuntime(100),
): Promise<{ handle: BridgeServerHandle; runtime: FakeRuntime }> {
  const handle = await startBridgeServer({
    runtime,
    transports: [{ kind: 'unix', path: socketPath }],
    limits,
  });
  cleanup.push(() => handle.close());
  return { handle, runtime };
}

async function client(socketPath: string, extra: Partial<BridgeClientOptions> = {}): Promise<BridgeClient> {
  const c = await BridgeClient.connect({
    transport: { kind: 'unix', path: socketPath },
    device: 'dev-1',
    firmware: 'fw-1',
    sensors: [{ sensor: 'ecg', rateHz: 250, channels: 1 }],
    reconnect: { initialDelayMs: 10, maxDelayMs: 50, seed: 3 },
    requestTimeoutMs: 2000,
    ...extra,
  });
  cleanup.push(() => c.close());
  return c;
}

function chunk(counter: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin((counter + i) / 5));
}

async function until(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    return error instanceof BridgeError ? error.code : `other: ${String(error)}`;
  }
  return 'no error';
}

/** A byte relay between a client path and a server path whose connections a test can cut. */
async function proxy(front: string, back: string): Promise<{ cut(): void }> {
  const pairs: net.Socket[] = [];
  const srv = net.createServer((inbound) => {
    const outbound = net.connect(back);
    pairs.push(inbound, outbound);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const kill = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', kill);
    outbound.on('error', kill);
    inbound.on('close', kill);
    outbound.on('close', kill);
  });
  await new Promise<void>((r) => srv.listen(front, r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const s of pairs) s.destroy();
        srv.close(() => {
          r();
        });
      }),
  );
  return {
    cut: () => {
      for (const s of pairs.splice(0)) s.destroy();
    },
  };
}

describe('BridgeClient against the bridge server (fake runtime)', () => {
  it('says hello, opens a stream, streams under credit and receives results; status, label, ping', async () => {
    const sock = path.join(dir, 'b.sock');
    const { handle } = await server(sock, { credits: 2 });
    const c = await client(sock);
    expect(c.state).toBe('ready');
    expect(c.session).toMatchObject({ version: 1, resumed: false, limits: { credits: 2 } });
    const results: ResultMessage[] = [];
    c.onResult((r) => results.push(r));
    await c.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    // Fire 20 frames without waiting: only 2 may be in flight, the rest wait for credit.
    const sends = Array.from({ length: 20 }, (_, i) =>
      c.sendSamples({
        stream: 'ecg0',
        counter: i * 50,
        timestampMs: i * 200,
        rateHz: 250,
        channels: [chunk(i * 50, 50)],
      }),
    );
    await Promise.all(sends);
    await until(() => results.length === 10);
    expect(results.map((r) => r.window)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(c.counters.creditWaits).toBeGreaterThan(0);
    expect(handle.counters().creditExceeded).toBe(0);
    const status = await c.status();
    expect(status.session.streams[0]).toMatchObject({ stream: 'ecg0', samples: 1000, next: 1000 });
    expect(await c.label(results[0]?.result ?? '', 1, 'clinician')).toBe('accepted');
    expect(await c.label(results[0]?.result ?? '', 1, 'clinician')).toBe('duplicate');
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
  });

  it('rejects QUEUE_FULL beyond its bounded queue and UNKNOWN_STREAM for a stream it did not open', async () => {
    const sock = path.join(dir, 'b.sock');
    await server(sock, { credits: 1 });
    const c = await client(sock, { maxQueuedFrames: 3 });
    await c.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        codeOf(c.sendSamples({ stream: 'ecg0', counter: i * 10, timestampMs: 0, channels: [chunk(0, 10)] })),
      ),
    );
    expect(outcomes).toEqual(['no error', 'no error', 'no error', 'no error', 'QUEUE_FULL', 'QUEUE_FULL']);
    expect(
      await codeOf(c.sendSamples({ stream: 'nope', counter: 0, timestampMs: 0, channels: [chunk(0, 1)] })),
    ).toBe('UNKNOWN_STREAM');
  });

  it('reports refused samples frames through onError with the frame id and stream, and rejects refused requests', async () => {
    const sock = path.join(dir, 'b.sock');
    await server(sock);
    const c = await client(sock);
    const errors: [string, number | undefined, string | undefined][] = [];
    c.onError((e, ctx) => errors.push([e.code, ctx.re, ctx.stream]));
    await c.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    await c.sendSamples({ stream: 'ecg0', counter: 100, timestampMs: 0, channels: [chunk(0, 10)] });
    await c.sendSamples({ stream: 'ecg0', counter: 0, timestampMs: 0, channels: [chunk(0, 10)] });
    await until(() => errors.length === 1);
    expect(errors[0]?.[0]).toBe('OUT_OF_ORDER');
    expect(errors[0]?.[2]).toBe('ecg0');
    expect(typeof errors[0]?.[1]).toBe('number');
    expect(await codeOf(c.openStream({ stream: 'p', sensor: 'ppg', rateHz: 64, channels: 1 }))).toBe(
      'NO_MODEL_FOR_SENSOR',
    );
    expect(await codeOf(c.openStream({ stream: 'e', sensor: 'ecg', rateHz: 500, channels: 1 }))).toBe(
      'RATE_MISMATCH',
    );
  });

  it('reconnects after the runtime restarts, re-opens its streams and sends what it queued meanwhile', async () => {
    const sock = path.join(dir, 'b.sock');
    const first = await server(sock);
    const c = await client(sock);
    const results: ResultMessage[] = [];
    const states: string[] = [];
    c.onResult((r) => results.push(r));
    c.onState((s) => states.push(s));
    await c.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    await c.sendSamples({ stream: 'ecg0', counter: 0, timestampMs: 0, channels: [chunk(0, 100)] });
    await until(() => results.length === 1);
    await first.handle.close();
    await until(() => c.state === 'reconnecting');
    const queued = c.sendSamples({
      stream: 'ecg0',
      counter: 100,
      timestampMs: 400,
      channels: [chunk(100, 100)],
    });
    const second = await server(sock, {}, new FakeRuntime(100));
    await queued;
    await until(() => results.length === 2);
    expect(c.session?.resumed).toBe(false);
    expect(second.runtime.streams.has('dev-1/ecg0')).toBe(true);
    expect(second.runtime.pushed.map((f) => f.firstCounter)).toEqual([100]);
    expect(states).toEqual(['reconnecting', 'ready']);
    expect(c.counters.reconnects).toBeGreaterThan(0);
  });

  it('resumes its session after a dropped connection and receives the results produced meanwhile', async () => {
    const back = path.join(dir, 'back.sock');
    const front = path.join(dir, 'front.sock');
    const { runtime } = await server(back);
    const relay = await proxy(front, back);
    const c = await client(front);
    const results: ResultMessage[] = [];
    c.onResult((r) => results.push(r));
    await c.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    runtime.deferResults = true;
    await c.sendSamples({ stream: 'ecg0', counter: 0, timestampMs: 0, channels: [chunk(0, 300)] });
    await until(() => runtime.pending.length === 3);
    runtime.flush(1);
    await until(() => results.length === 1);
    relay.cut();
    await until(() => c.state !== 'ready');
    runtime.flush(); // produced while the device is away
    await until(() => c.state === 'ready' && results.length === 3);
    expect(c.session?.resumed).toBe(true);
    expect(results.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(c.counters.sequenceGaps).toBe(0);
  });

  it('stops (without reconnecting) when another connection takes over its device id', async () => {
    const sock = path.join(dir, 'b.sock');
    await server(sock);
    const a = await client(sock);
    const errors: string[] = [];
    a.onError((e) => errors.push(e.code));
    await client(sock);
    await until(() => a.state === 'closed');
    expect(errors).toContain('SESSION_TAKEN_OVER');
    expect(await codeOf(a.ping())).toBe('SESSION_TAKEN_OVER');
  });

  it('fails to connect when no protocol version is shared, or when no server appears', async () => {
    const sock = path.join(dir, 'b.sock');
    await server(sock);
    expect(await codeOf(client(sock, { versions: [9] }))).toBe('VERSION_UNSUPPORTED');
    expect(
      await codeOf(
        client(path.join(dir, 'missing.sock'), { reconnect: { initialDelayMs: 1, maxAttempts: 3 } }),
      ),
    ).toBe('NOT_CONNECTED');
  });

  it('times out a request the server never answers', async () => {
    const sock = path.join(dir, 'mute.sock');
    const mute = net.createServer((socket) => {
      socket.once('data', () => {
        socket.write(
          encodeFrame(
            {
              type: 'hello-ack',
              re: 1,
              version: 1,
              resumed: false,
              streams: [],
              limits: {
                maxFrameBytes: 65536,
                credits: 4,
                maxStreams: 1,
                maxChannels: 1,
                maxSamplesPerFrame: 10,
                resumeBuffer: 1,
                resumeWindowMs: 1,
              },
              server: { name: 'mute', version: '0', device: 'x' },
              caps: [],
            },
            65536,
          ),
        );
      });
    });
    await new Promise<void>((r) => mute.listen(sock, r));
    cleanup.push(
      () =>
        new Promise<void>((r) =>
          mute.close(() => {
            r();
          }),
        ),
    );
    const c = await client(sock, { requestTimeoutMs: 50, reconnect: false });
    expect(await codeOf(c.status())).toBe('TIMEOUT');
    await c.close();
  });

  it('speaks over a pair of streams (the stdio transport)', async () => {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const runtime = new FakeRuntime(100);
    const handle = await startBridgeServer({
      runtime,
      transports: [{ kind: 'stdio', input: toServer, output: toClient }],
    });
    cleanup.push(() => handle.close());
    const c = await BridgeClient.connect({
      transport: { kind: 'streams', open: () => Promise.resolve({ input: toClient, output: toServer }) },
      device: 'child-1',
      firmware: 'fw',
      reconnect: false,
    });
    cleanup.push(() => c.close());
    const results: ResultMessage[] = [];
    c.onResult((r) => results.push(r));
    await c.openStream({ stream: 's', sensor: 'ecg', rateHz: 250, channels: 1 });
    await c.sendSamples({ stream: 's', counter: 0, timestampMs: 0, channels: [chunk(0, 200)] });
    await until(() => results.length === 2);
    expect(handle.addresses).toEqual([{ kind: 'stdio' }]);
  });
});
