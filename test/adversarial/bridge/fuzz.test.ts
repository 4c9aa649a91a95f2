// Hostile input for the bridge server: well over 100,000 random and mutated frames through the real
// server decode/dispatch path (in-process connections on a BridgeCore over a real runtime), and a
// few thousand more through a real Unix socket. Nothing may throw, hang, grow without bound, or stop
// the server from serving a well-behaved client afterwards.
import { encode } from 'cbor-x';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient } from '../../../firmware-bridge/client/index.ts';
import type { ResultMessage } from '../../../firmware-bridge/protocol/index.ts';
import {
  createBridgeCore,
  startBridgeServer,
  type BridgeCore,
  type Connection,
} from '../../../firmware-bridge/server/index.ts';
import {
  createRealRuntime,
  ecgChunk,
  type RealRuntime,
} from '../../integration/firmware-bridge/helpers/real-runtime.ts';
import { ManualClock, MemoryWire } from '../../unit/firmware-bridge/helpers.ts';

const SEED = 0x5eed_b41d;
const IN_PROCESS_FRAMES = Number(process.env.FUZZ_IN ?? 120_000);
const SOCKET_FRAMES = Number(process.env.FUZZ_SOCK ?? 6_000);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

class Rng {
  private readonly g;
  constructor(seed: number) {
    this.g = xoroshiro128plus(seed | 0);
  }
  next(): number {
    return uniformFloat64(this.g);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const DEVICES = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
const STREAMS = ['ecg0', 'ecg1', 'acc', 'ppg'];

/** Values that break naive parsers. */
function nasty(rng: Rng): unknown {
  return rng.pick<() => unknown>([
    () => Number.NaN,
    () => Number.POSITIVE_INFINITY,
    () => Number.NEGATIVE_INFINITY,
    () => -0,
    () => -1,
    () => 2 ** 53,
    () => 2 ** 64,
    () => 1e308,
    () => 0.5,
    () => '',
    () => 'x'.repeat(rng.int(3000)),
    () => '\u0000\uffff',
    () => null,
    () => true,
    () => [],
    () => [[[[[[[[[[]]]]]]]]]],
    () => new Map([['type', 'hello']]),
    () => ({ __proto__: { polluted: true }, constructor: 1 }),
    () => new Float32Array(rng.int(5000)),
    () => new Int16Array(rng.int(100)),
    () => new Float64Array(3),
    () => new Uint8Array(rng.int(70_000)),
    () => Array.from({ length: rng.int(100) }, () => rng.int(1000)),
  ])();
}

function validMessage(rng: Rng, id: number): Record<string, unknown> {
  const stream = rng.pick(STREAMS);
  const n = 1 + rng.int(rng.chance(0.1) ? 3000 : 120);
  switch (rng.int(8)) {
    case 0:
      return {
        type: 'hello',
        id,
        versions: rng.chance(0.9) ? [1] : [rng.int(5)],
        device: rng.pick(DEVICES),
        firmware: 'fw-1',
        sensors: [{ sensor: 'ecg', rateHz: 250, channels: 1 }],
        caps: [],
      };
    case 1:
      return {
        type: 'open',
        id,
        stream,
        sensor: stream === 'acc' ? 'accel' : stream === 'ppg' ? 'ppg' : 'ecg',
        rateHz: stream === 'acc' ? 50 : rng.chance(0.8) ? 250 : rng.next() * 1000,
        channels: stream === 'acc' ? 3 : 1 + rng.int(2),
      };
    case 2:
      return { type: 'close', id, stream };
    case 3:
    case 4:
    case 5: {
      const channels = stream === 'acc' ? 3 : 1;
      const int16 = rng.chance(0.3);
      const counter = rng.chance(0.7) ? rng.int(100_000) : rng.int(2 ** 40);
      const data = Array.from({ length: channels }, () =>
        int16
          ? Int16Array.from({ length: n }, () => rng.int(65536) - 32768)
          : rng.chance(0.9)
            ? ecgChunk(counter, n, 250, rng.next() * 5)
            : Float32Array.from({ length: n }, () => (rng.chance(0.1) ? Number.NaN : rng.next() * 20 - 10)),
      );
      return {
        type: 'samples',
        id,
        stream,
        counter,
        timestampMs: 1_700_000_000_000 + counter * 4,
        ...(rng.chance(0.8) ? { rateHz: stream === 'acc' ? 50 : 250 } : {}),
        data,
        ...(int16 ? { scale: data.map(() => 0.001) } : {}),
        ...(rng.chance(0.2) ? { flags: Uint8Array.from({ length: n }, () => rng.int(8)) } : {}),
      };
    }
    case 6:
      return {
        type: 'label',
        id,
        result: `${rng.pick(DEVICES)}/${stream}:${rng.int(10)}:ecg-test`,
        value: rng.int(2),
        source: rng.pick(['clinician', 'ground-truth']),
      };
    default:
      return { type: rng.pick(['status', 'ping']), id };
  }
}

/** A structured mutation: change, add or drop fields, with nasty values. */
function mutateMessage(rng: Rng, message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...message };
  const keys = Object.keys(out);
  const edits = 1 + rng.int(3);
  for (let i = 0; i < edits; i += 1) {
    switch (rng.int(4)) {
      case 0:
        out[rng.pick(keys)] = nasty(rng);
        break;
      case 1:
        out[rng.pick(['extra', 'type', 'id', '', 'data', 'scale', 'flags', 'x'.repeat(300)])] = nasty(rng);
        break;
      case 2:
        Reflect.deleteProperty(out, rng.pick(keys));
        break;
      default:
        if (Array.isArray(out.data)) out.data = [...(out.data as unknown[]), nasty(rng)];
        else out.type = rng.pick(['samples', 'hello', 'open', 'label', 'nope', 42]);
    }
  }
  return out;
}

const INTERESTING = [
  0x00, 0xff, 0x7f, 0x80, 0x1b, 0x3b, 0x5b, 0x7b, 0x9b, 0xbb, 0x9f, 0xbf, 0xf7, 0xf9, 0xfb, 0xd8,
];

/** A byte-level mutation of an encoded payload. */
function mutateBytes(rng: Rng, payload: Uint8Array): Uint8Array {
  const bytes = Uint8Array.from(payload);
  switch (rng.int(6)) {
    case 0: {
      const flips = 1 + rng.int(8);
      for (let i = 0; i < flips && bytes.length > 0; i += 1) {
        const at = rng.int(bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 << rng.int(8));
      }
      return bytes;
    }
    case 1: {
      for (let i = 0; i < 1 + rng.int(4) && bytes.length > 0; i += 1)
        bytes[rng.int(bytes.length)] = rng.pick(INTERESTING);
      return bytes;
    }
    case 2:
      return bytes.subarray(0, rng.int(bytes.length + 1));
    case 3: {
      const at = rng.int(bytes.length + 1);
      const extra = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
      return Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)]);
    }
    case 4: {
      const a = rng.int(bytes.length + 1);
      const b = Math.min(bytes.length, a + rng.int(64));
      return Buffer.concat([bytes, bytes.subarray(a, b)]);
    }
    default:
      return Uint8Array.from({ length: rng.int(300) }, () => rng.int(256));
  }
}

function framed(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

function hello(device: string): Buffer {
  return framed(encode({ type: 'hello', id: 0, versions: [1], device, firmware: 'f', sensors: [] }));
}

/** One fuzz frame (length-prefixed), sometimes with a lying length prefix. */
function fuzzFrame(rng: Rng, id: number, corruptFraming = 0.01): Buffer {
  const message = validMessage(rng, id);
  const r = rng.next();
  let payload: Uint8Array;
  if (r < 0.25) payload = encode(message);
  else if (r < 0.55) payload = encode(mutateMessage(rng, message));
  else payload = mutateBytes(rng, encode(message));
  const frame = framed(payload);
  if (rng.chance(corruptFraming)) frame.writeUInt32BE(rng.int(2 ** 32), 0); // the connection must close
  return frame;
}

/** Splits a buffer into random chunks, as a socket may deliver it. */
function chunks(rng: Rng, bytes: Buffer): Buffer[] {
  if (rng.chance(0.7)) return [bytes];
  const out: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const n = 1 + rng.int(Math.max(1, bytes.length - at));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

let dir: string;
let real: RealRuntime;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bridge-fuzz-'));
  real = await createRealRuntime({ accel: true, maxStreams: 1024 });
});

afterAll(async () => {
  await real.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serveGoodClient(client: BridgeClient): Promise<ResultMessage[]> {
  const results: ResultMessage[] = [];
  client.onResult((r) => results.push(r));
  await client.openStream({ stream: 'good', sensor: 'ecg', rateHz: 250, channels: 1 });
  for (let counter = 0; counter < 750; counter += 50) {
    await client.sendSamples({
      stream: 'good',
      counter,
      timestampMs: counter * 4,
      rateHz: 250,
      channels: [ecgChunk(counter, 50)],
    });
  }
  const start = Date.now();
  while (results.length < 2 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
  return results;
}

describe('bridge fuzzing', () => {
  it(`survives ${IN_PROCESS_FRAMES} random and mutated frames in-process: no throw, no hang, bounded memory`, async () => {
    const rng = new Rng(SEED);
    const clock = new ManualClock();
    const core: BridgeCore = createBridgeCore({
      runtime: real.runtime,
      clock,
      limits: { resumeWindowMs: 1000, maxFrameBytes: 64 * 1024, maxSkipBytes: 1024 * 1024 },
    });
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    let slowest = 0;
    let frames = 0;
    let serverFrames = 0;
    let connections = 0;
    while (frames < IN_PROCESS_FRAMES) {
      const wire = new MemoryWire();
      const connection: Connection | null = core.accept(wire);
      expect(connection).not.toBeNull();
      connections += 1;
      if (!connection) break;
      if (rng.chance(0.9)) connection.receive(hello(rng.pick(DEVICES)));
      const perConnection = 50 + rng.int(400);
      for (let i = 0; i < perConnection && frames < IN_PROCESS_FRAMES; i += 1) {
        const bytes = fuzzFrame(rng, frames);
        const t0 = performance.now();
        for (const chunk of chunks(rng, bytes)) connection.receive(chunk); // must never throw
        slowest = Math.max(slowest, performance.now() - t0);
        frames += 1;
        if (rng.chance(0.001)) wire.blocked = !wire.blocked;
        if (wire.blocked && rng.chance(0.05)) {
          wire.blocked = false;
          connection.drained();
        }
        if (!connection.isOpen) break;
      }
      serverFrames += wire.frames.length;
      connection.ended();
      if (connections % 50 === 0) {
        clock.advance(2000); // detached sessions expire; their streams close
        await real.runtime.drain();
      }
    }
    clock.advance(60_000);
    await real.runtime.drain();
    const elapsedMs = performance.now() - started;
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;

    expect(frames).toBeGreaterThanOrEqual(IN_PROCESS_FRAMES);
    expect(serverFrames).toBeGreaterThan(frames / 2); // almost every frame is answered
    expect(core.counters.internalErrors).toBe(0);
    expect(core.counters.fastPathFrames).toBeGreaterThan(IN_PROCESS_FRAMES / 20); // both decode paths ran
    expect(core.counters.connectionsOpen).toBe(0);
    expect(core.sessionCount).toBe(0);
    expect(real.internalErrors).toEqual([]);
    expect(slowest).toBeLessThan(250);
    expect(elapsedMs).toBeLessThan(45_000);
    expect(heapGrowth).toBeLessThan(48 * 1024 * 1024);
    const codes = core.counters.errorsByCode;
    for (const code of [
      'BAD_CBOR',
      'BAD_MESSAGE',
      'BAD_FIELD',
      'UNKNOWN_STREAM',
      'OUT_OF_ORDER',
      'FRAMING',
    ]) {
      expect(codes[code] ?? 0).toBeGreaterThan(0);
    }
    expect(real.pipeline.openStreams).toBe(0);
    core.shutdown();
  }, 90_000);

  it(`survives ${SOCKET_FRAMES} hostile frames over a real socket and still serves a good client`, async () => {
    const rng = new Rng(SEED + 1);
    const socketPath = path.join(dir, 'fuzz.sock');
    const server = await startBridgeServer({
      runtime: real.runtime,
      transports: [{ kind: 'unix', path: socketPath }],
      limits: { resumeWindowMs: 100, maxFrameBytes: 64 * 1024, maxSkipBytes: 1024 * 1024 },
    });
    let sent = 0;
    while (sent < SOCKET_FRAMES) {
      const socket = net.connect(socketPath);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.on('error', () => undefined);
      socket.resume(); // read and discard answers
      const closed = new Promise<void>((r) =>
        socket.once('close', () => {
          r();
        }),
      );
      const batch: Buffer[] = [hello(`s${rng.int(4)}`)];
      const n = 200 + rng.int(600);
      for (let i = 0; i < n && sent < SOCKET_FRAMES; i += 1) {
        batch.push(fuzzFrame(rng, i + 1, 0));
        sent += 1;
      }
      // Some connections end with a length prefix nobody could send honestly: the server must close them.
      if (rng.chance(0.2)) batch.push(Buffer.from([0xff, 0xff, 0xff, rng.int(256), 1, 2, 3]));
      socket.end(Buffer.concat(batch));
      await closed;
    }
    const client = await BridgeClient.connect({
      transport: { kind: 'unix', path: socketPath },
      device: 'after-fuzz',
      firmware: 'fw',
      reconnect: false,
    });
    const results = await serveGoodClient(client);
    await client.close();
    const counters = server.counters();
    await server.close();
    expect(results.length).toBeGreaterThanOrEqual(2);
    expect(results[0]?.status.kind).toBe('ok');
    expect(counters.framesIn).toBeGreaterThanOrEqual(SOCKET_FRAMES);
    expect(counters.errorsByCode.FRAMING ?? 0).toBeGreaterThan(0);
    expect(counters.internalErrors).toBe(0);
    expect(real.internalErrors).toEqual([]);
  }, 60_000);
});
