// Firmware bridge: samples/s through the bridge over a Unix socket (TS client in a separate process →
// server decode, credits, dispatch → a runtime that only counts) against the same frame bytes pushed
// through a plain Unix socket with no framing or decoding (DESIGN.md, "bridge" baseline), in
// interleaved rounds; and the latency from the last sample of a window leaving the firmware process
// to its result arriving back there, with a real runtime (pipeline + ONNX session).
//
// This file is also the sender: the parent runs it again as a child process (`--sender MODE`), so the
// client has its own process and event loop, like firmware.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BridgeClient } from '../firmware-bridge/client/index.ts';
import { encodeSamplesFrame, type ResultMessage } from '../firmware-bridge/protocol/index.ts';
import { startBridgeServer, type BridgeRuntime } from '../firmware-bridge/server/index.ts';
import type { AlertEvent, LabelOutcome, RuntimeStatus } from '../runtime/api.ts';
import type { SamplesFrame, WindowResult } from '../runtime/pipeline/index.ts';
import { assembleRuntime } from '../runtime/assemble.ts';
import { DEFAULT_CONFIG } from '../runtime/config.ts';
import { simulateSignal } from '../simulator/index.ts';
import { referenceArtifacts } from '../test/integration/pipeline/helpers/reference.ts';
import { percentile, type BenchFigure } from './harness.ts';

export const name = 'bridge';

const SELF = fileURLToPath(import.meta.url);
const FRAMES = 200_000;
const SAMPLES_PER_FRAME = 250; // 1 s of 250 Hz ECG, one float32 channel
const ROUNDS = 7;
const LATENCY_DEVICES = 8;
const LATENCY_SIGNAL_S = 120;
/** The af-screener reference model reads 30 s windows every 5 s. */
const AF_WINDOW_S = 30;
const AF_HOP_S = 5;
const LATENCY_FRAME = 50; // 0.2 s
const LATENCY_PACE_MS = 10; // 20× real time

interface SenderConfig {
  readonly mode: 'raw' | 'bridge' | 'latency';
  readonly socket: string;
  readonly frames: number;
}

type SenderMessage =
  | { readonly kind: 'ready' }
  | {
      readonly kind: 'done';
      readonly latenciesMs?: readonly number[];
      readonly results?: number;
      readonly statuses?: Readonly<Record<string, number>>;
    };

// ------------------------------------------------------------------ child side

/** Synthetic ECG (mV, 250 Hz) from the simulator: deterministic per seed. */
function ecg(seconds: number, seed: number): Float32Array {
  const signal = simulateSignal({ kind: 'ecg', seconds, seed, clean: true });
  if (signal.kind !== 'ecg') throw new Error('the simulator returned another kind of signal');
  return signal.samples;
}

function ecgChunk(samples: number): Float32Array {
  return ecg(Math.ceil(samples / 250) + 1, 7).subarray(0, samples);
}

function send(message: SenderMessage): Promise<void> {
  return new Promise((resolve) => {
    process.send?.(message, () => {
      resolve();
    });
  });
}

function waitGo(): Promise<void> {
  return new Promise((resolve) => {
    process.once('message', () => {
      resolve();
    });
  });
}

/** The frames the raw baseline sends, cycled: the bytes the bridge client writes for the same samples. */
function rawFrames(): Buffer[] {
  const chunk = ecgChunk(SAMPLES_PER_FRAME);
  return Array.from({ length: 256 }, (_, i) =>
    encodeSamplesFrame(
      {
        type: 'samples',
        id: i + 2,
        stream: 'ecg0',
        counter: i * SAMPLES_PER_FRAME,
        timestampMs: 1_700_000_000_000 + i * 1000,
        rateHz: 250,
        data: [chunk],
      },
      1 << 20,
    ),
  );
}

async function rawSender(config: SenderConfig): Promise<void> {
  // Pre-encoded: the baseline pays no encoding.
  const frames = rawFrames();
  const socket = net.connect(config.socket);
  await new Promise<void>((r) => socket.once('connect', r));
  await send({ kind: 'ready' });
  await waitGo();
  for (let i = 0; i < config.frames; i += 1) {
    if (!socket.write(frames[i % frames.length] as Buffer)) await new Promise((r) => socket.once('drain', r));
  }
  socket.end();
  await send({ kind: 'done' });
}

async function bridgeSender(config: SenderConfig): Promise<void> {
  const client = await BridgeClient.connect({
    transport: { kind: 'unix', path: config.socket },
    device: 'bench',
    firmware: 'bench',
    reconnect: false,
  });
  await client.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
  const chunk = ecgChunk(SAMPLES_PER_FRAME);
  await send({ kind: 'ready' });
  await waitGo();
  for (let i = 0; i < config.frames; i += 1) {
    await client.sendSamples({
      stream: 'ecg0',
      counter: i * SAMPLES_PER_FRAME,
      timestampMs: 1_700_000_000_000 + i * 1000,
      rateHz: 250,
      channels: [chunk],
    });
  }
  await client.ping(); // everything before it was read by the server
  await client.close();
  await send({ kind: 'done' });
}

async function latencySender(config: SenderConfig): Promise<void> {
  const latencies: number[] = [];
  const clients = await Promise.all(
    Array.from({ length: LATENCY_DEVICES }, async (_, d) => {
      const client = await BridgeClient.connect({
        transport: { kind: 'unix', path: config.socket },
        device: `lat-${d}`,
        firmware: 'bench',
        reconnect: false,
      });
      await client.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
      return client;
    }),
  );
  /** Per device: when the frame ending at each counter was handed to the socket. */
  const sentAt = clients.map(() => new Map<number, number>());
  const signals = clients.map((_, d) => ecg(LATENCY_SIGNAL_S, d + 1));
  let results = 0;
  const statuses: Record<string, number> = {};
  clients.forEach((client, d) => {
    client.onResult((r: ResultMessage) => {
      const at = sentAt[d]?.get(r.last);
      if (at !== undefined) latencies.push(performance.now() - at);
      results += 1;
      const key = r.status.kind === 'fallback' ? `fallback:${r.status.reason}` : r.status.kind;
      statuses[key] = (statuses[key] ?? 0) + 1;
    });
  });
  await send({ kind: 'ready' });
  await waitGo();
  const total = LATENCY_SIGNAL_S * 250;
  // Devices start a fraction of a hop apart, as independent wearers do: their windows do not all
  // complete in the same instant.
  const staggerFrames = Math.max(1, Math.round((AF_HOP_S * 250) / LATENCY_FRAME / LATENCY_DEVICES));
  const frames = total / LATENCY_FRAME;
  for (let step = 0; step < frames + staggerFrames * LATENCY_DEVICES; step += 1) {
    await Promise.all(
      clients.map(async (client, d) => {
        const frame = step - d * staggerFrames;
        if (frame < 0 || frame >= frames) return;
        const counter = frame * LATENCY_FRAME;
        await client.sendSamples({
          stream: 'ecg0',
          counter,
          timestampMs: 1_700_000_000_000 + counter * 4,
          rateHz: 250,
          channels: [(signals[d] as Float32Array).subarray(counter, counter + LATENCY_FRAME)],
        });
        sentAt[d]?.set(counter + LATENCY_FRAME - 1, performance.now());
      }),
    );
    await new Promise((r) => setTimeout(r, LATENCY_PACE_MS));
  }
  const expected = LATENCY_DEVICES * (Math.floor((LATENCY_SIGNAL_S - AF_WINDOW_S) / AF_HOP_S) + 1);
  const start = Date.now();
  while (results < expected && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 20));
  await Promise.all(clients.map((c) => c.close()));
  await send({ kind: 'done', latenciesMs: latencies, results, statuses });
}

// ------------------------------------------------------------------ parent side

interface Child {
  ready: Promise<void>;
  go(): void;
  done: Promise<SenderMessage & { kind: 'done' }>;
  /** Rejects if the child dies before it reports done (so that no wait hangs on a dead sender). */
  failed: Promise<never>;
}

const SENDER_TIMEOUT_MS = 120_000;

function startSender(config: SenderConfig): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--sender', JSON.stringify(config)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let readyResolve: () => void = () => undefined;
  let doneResolve: (m: SenderMessage & { kind: 'done' }) => void = () => undefined;
  let finished = false;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const done = new Promise<SenderMessage & { kind: 'done' }>((r) => (doneResolve = r));
  const failed = new Promise<never>((_resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`bench sender (${config.mode}) took longer than ${SENDER_TIMEOUT_MS} ms`));
    }, SENDER_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!finished || code !== 0) reject(new Error(`bench sender (${config.mode}) exited with ${code}`));
    });
  });
  failed.catch(() => undefined); // observed by the awaits below
  child.on('message', (m: SenderMessage) => {
    if (m.kind === 'ready') readyResolve();
    else {
      finished = true;
      doneResolve(m);
    }
  });
  return {
    ready: Promise.race([ready, failed]),
    go: () => child.send('go'),
    done: Promise.race([done, failed]),
    failed,
  };
}

/** A runtime that accepts every frame and only counts samples: isolates the bridge's own cost. */
class CountingRuntime implements BridgeRuntime {
  readonly deviceId = 'bench';
  samples = 0;
  target = Number.POSITIVE_INFINITY;
  onTarget: () => void = () => undefined;
  openStream(): void {
    // accepted
  }
  closeStream(): void {
    // accepted
  }
  pushSamples(frame: SamplesFrame): void {
    this.samples += frame.channels[0]?.length ?? 0;
    if (this.samples >= this.target) this.onTarget();
  }
  onResult(_listener: (r: WindowResult) => void): () => void {
    return () => undefined;
  }
  onAlert(_listener: (a: AlertEvent) => void): () => void {
    return () => undefined;
  }
  submitLabel(): LabelOutcome {
    return { kind: 'unknown-result' };
  }
  status(): RuntimeStatus {
    return { deviceId: 'bench', runtimeVersion: '0', models: [], openStreams: 0, frozen: false };
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
}

async function rawRound(dir: string, round: number): Promise<{ samplesPerS: number; bytes: number }> {
  const socketPath = path.join(dir, `raw-${round}.sock`);
  let bytes = 0;
  let start = 0;
  let finished: () => void = () => undefined;
  const allIn = new Promise<void>((r) => (finished = r));
  const frames = rawFrames();
  let expected = 0;
  for (let i = 0; i < FRAMES; i += 1) expected += (frames[i % frames.length] as Buffer).length;
  const server = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes >= expected) finished();
    });
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  const child = startSender({ mode: 'raw', socket: socketPath, frames: FRAMES });
  await child.ready;
  start = performance.now();
  child.go();
  await Promise.race([allIn, child.failed]);
  const seconds = (performance.now() - start) / 1000;
  await child.done;
  await new Promise<void>((r) => {
    server.close(() => {
      r();
    });
  });
  return { samplesPerS: (FRAMES * SAMPLES_PER_FRAME) / seconds, bytes };
}

async function bridgeRound(dir: string, round: number): Promise<number> {
  const socketPath = path.join(dir, `bridge-${round}.sock`);
  const runtime = new CountingRuntime();
  runtime.target = FRAMES * SAMPLES_PER_FRAME;
  const allIn = new Promise<void>((r) => (runtime.onTarget = r));
  const server = await startBridgeServer({
    runtime,
    transports: [{ kind: 'unix', path: socketPath }],
  });
  const child = startSender({ mode: 'bridge', socket: socketPath, frames: FRAMES });
  await child.ready;
  const start = performance.now();
  child.go();
  await Promise.race([allIn, child.failed]);
  const seconds = (performance.now() - start) / 1000;
  await child.done;
  await server.close();
  return (FRAMES * SAMPLES_PER_FRAME) / seconds;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export async function run(log: (line: string) => void): Promise<readonly BenchFigure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-bridge-'));
  try {
    const raw: number[] = [];
    const bridged: number[] = [];
    const ratios: number[] = [];
    let rawBytes = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternate which goes first, and compare each round's pair: the machine's load drifts.
      const b = round % 2 === 1 ? await bridgeRound(dir, round) : 0;
      const r = await rawRound(dir, round);
      const bridgedRate = round % 2 === 1 ? b : await bridgeRound(dir, round);
      raw.push(r.samplesPerS);
      rawBytes = r.bytes;
      bridged.push(bridgedRate);
      ratios.push(bridgedRate / r.samplesPerS);
      log(
        `round ${round + 1}: raw ${(r.samplesPerS / 1e6).toFixed(1)} M samples/s, ` +
          `bridge ${((bridged[round] ?? 0) / 1e6).toFixed(1)} M samples/s`,
      );
    }
    const rawMedian = median(raw);
    const bridgeMedian = median(bridged);
    log(`${FRAMES} frames × ${SAMPLES_PER_FRAME} samples (${(rawBytes / 1e6).toFixed(1)} MB) per round`);

    // A real runtime as the daemon assembles it (default config): the af-screener reference model
    // (30 s windows, 5 s hop, real preprocessing, quality gate, onnxruntime-node session).
    const assembled = await assembleRuntime([referenceArtifacts('af-screener')], {
      config: { ...DEFAULT_CONFIG, backend: 'node', deviceId: 'bench-gateway' },
    });
    const runtime = assembled.runtime;
    const socketPath = path.join(dir, 'latency.sock');
    const server = await startBridgeServer({ runtime, transports: [{ kind: 'unix', path: socketPath }] });
    const child = startSender({ mode: 'latency', socket: socketPath, frames: 0 });
    await child.ready;
    child.go();
    const done = await child.done;
    await server.close();
    await assembled.close();
    const latencies = done.latenciesMs ?? [];
    log(
      `latency: ${latencies.length} windows of af-screener from ${LATENCY_DEVICES} devices streaming ` +
        `simulated ECG at 20× real time (${done.results ?? 0} results: ${JSON.stringify(done.statuses ?? {})})`,
    );
    const latencyBase =
      `last sample of a window leaving the client → its result at the client; assembled runtime ` +
      `(default config) with the af-screener reference model, ${LATENCY_DEVICES} devices at 20× real time`;
    const base = `Unix socket, ${SAMPLES_PER_FRAME}-sample float32 frames, client in its own process`;
    return [
      {
        bench: 'bridge-throughput',
        metric: 'throughput_ratio',
        value: Number(median(ratios).toFixed(3)),
        unit: 'ratio',
        baseline: `the same frame bytes through a plain Unix socket (${base}), median of ${ROUNDS} paired rounds`,
        goal: '>=0.5',
      },
      {
        bench: 'bridge-throughput',
        metric: 'samples_per_s',
        value: Math.round(bridgeMedian),
        unit: 'samples/s',
        baseline: `bridge to a counting runtime (${base})`,
        goal: '',
      },
      {
        bench: 'bridge-throughput',
        metric: 'raw_samples_per_s',
        value: Math.round(rawMedian),
        unit: 'samples/s',
        baseline: 'plain Unix socket, same bytes',
        goal: '',
      },
      {
        bench: 'bridge-latency',
        metric: 'p50_ms',
        value: Number(percentile(latencies, 50).toFixed(3)),
        unit: 'ms',
        baseline: latencyBase,
        goal: '',
      },
      {
        bench: 'bridge-latency',
        metric: 'p99_ms',
        value: Number(percentile(latencies, 99).toFixed(3)),
        unit: 'ms',
        baseline: latencyBase,
        goal: '',
      },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ entry as a child process

if (
  process.argv[2] === '--sender' &&
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  const config = JSON.parse(process.argv[3] ?? '{}') as SenderConfig;
  const senders = { raw: rawSender, bridge: bridgeSender, latency: latencySender };
  senders[config.mode](config)
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      process.stderr.write(`bench sender failed: ${String(error)}\n`);
      process.exit(1);
    });
}
