// The TypeScript client against a real runtime (pipeline, quality gate, ONNX session) over real
// transports: Unix socket, TCP, and stdio of a child process.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient } from '../../../firmware-bridge/client/index.ts';
import {
  encodeFrame,
  type AlertMessage,
  type ResultMessage,
} from '../../../firmware-bridge/protocol/index.ts';
import { startBridgeServer, type BridgeServerHandle } from '../../../firmware-bridge/server/index.ts';
import type { LabelSubmission } from '../../../runtime/api.ts';
import { createRealRuntime, ecgChunk, type RealRuntime } from './helpers/real-runtime.ts';

let dir: string;
let real: RealRuntime;
let server: BridgeServerHandle;
let socketPath: string;
let tcpPort: number;
const labels: LabelSubmission[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bridge-real-'));
  real = await createRealRuntime({ accel: true });
  real.runtime.addLabelObserver({ onLabel: (_result, label) => labels.push(label) });
  socketPath = path.join(dir, 'bridge.sock');
  server = await startBridgeServer({
    runtime: real.runtime,
    transports: [
      { kind: 'unix', path: socketPath },
      { kind: 'tcp', host: '127.0.0.1', port: 0 },
    ],
    limits: { stallTimeoutMs: 60_000 },
  });
  const tcp = server.addresses.find((a) => a.kind === 'tcp');
  tcpPort = tcp?.kind === 'tcp' ? tcp.port : 0;
});

afterAll(async () => {
  await server.close();
  await real.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function connect(device: string, tcp = false): Promise<BridgeClient> {
  return BridgeClient.connect({
    transport: tcp ? { kind: 'tcp', host: '127.0.0.1', port: tcpPort } : { kind: 'unix', path: socketPath },
    device,
    firmware: 'fw-test',
    reconnect: false,
  });
}

async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Streams `seconds` of 250 Hz ECG in 50-sample frames; `gainAt(second)` sets the amplitude. */
async function streamEcg(
  client: BridgeClient,
  stream: string,
  seconds: number,
  gainAt: (s: number) => number = () => 1,
  flagsAt?: (s: number) => number,
): Promise<void> {
  for (let counter = 0; counter < seconds * 250; counter += 50) {
    const s = counter / 250;
    await client.sendSamples({
      stream,
      counter,
      timestampMs: 1_700_000_000_000 + counter * 4,
      rateHz: 250,
      channels: [ecgChunk(counter, 50, 250, gainAt(s))],
      ...(flagsAt ? { flags: new Uint8Array(50).fill(flagsAt(s)) } : {}),
    });
  }
}

describe('bridge with a real runtime', () => {
  it('delivers one result per window with provenance, and an alert when the model stays positive', async () => {
    const client = await connect('dev-ecg');
    const results: ResultMessage[] = [];
    const alerts: AlertMessage[] = [];
    client.onResult((r) => results.push(r));
    client.onAlert((a) => alerts.push(a));
    await client.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1, cohort: 'age=65+' });
    await streamEcg(client, 'ecg0', 10, (s) => (s < 5 ? 1 : 4));
    await until(() => results.length === 9);
    const byWindow = [...results].sort((a, b) => a.window - b.window);
    expect(byWindow.map((r) => r.window)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(byWindow[0]).toMatchObject({
      // Opaque, never reused: stream, epoch (pipeline session + stream opening), window, family.
      result: expect.stringMatching(/^dev-ecg\/ecg0:[A-Za-z0-9_-]+\.[0-9a-z]+:0:ecg-test$/) as unknown,
      stream: 'ecg0',
      first: 0,
      last: 499,
      startMs: 1_700_000_000_000,
      endMs: 1_700_000_002_000,
      cohort: 'age=65+',
      status: { kind: 'ok', label: 'normal', positive: false },
      provenance: {
        bundleId: 'ecg-test@1.0.0',
        modelFamily: 'ecg-test',
        backend: 'node',
        thresholdsVersion: 't1',
      },
    });
    const positives = byWindow
      .filter((r) => r.status.kind === 'ok' && r.status.positive)
      .map((r) => r.window);
    expect(positives).toEqual([5, 6, 7, 8]);
    await until(() => alerts.length === 1);
    const sixth = byWindow[6]?.result ?? '';
    expect(alerts[0]).toMatchObject({ result: sixth, label: 'high', source: 'model' });
    expect(await client.label(sixth, 1, 'clinician')).toBe('accepted');
    expect(labels).toEqual([expect.objectContaining({ resultId: sixth, value: 1, source: 'clinician' })]);
    await client.close();
  });

  it('serves a 3-axis int16 accelerometer stream with a scale, over TCP', async () => {
    const client = await connect('dev-accel', true);
    const results: ResultMessage[] = [];
    client.onResult((r) => results.push(r));
    await client.openStream({ stream: 'acc', sensor: 'accel', rateHz: 50, channels: 3 });
    for (let counter = 0; counter < 250; counter += 25) {
      const axis = (phase: number): Int16Array =>
        Int16Array.from({ length: 25 }, (_, i) => Math.round(1000 * Math.sin((counter + i) / 4 + phase)));
      await client.sendSamples({
        stream: 'acc',
        counter,
        timestampMs: counter * 20,
        rateHz: 50,
        channels: [axis(0), axis(1), axis(2)],
        scale: [0.001, 0.001, 0.001],
      });
    }
    await until(() => results.length === 4);
    expect(results.every((r) => r.provenance.modelFamily === 'accel-test' && r.status.kind === 'ok')).toBe(
      true,
    );
    await client.close();
  });

  it('turns lead-off windows into declared fallbacks', async () => {
    const client = await connect('dev-leadoff');
    const results: ResultMessage[] = [];
    client.onResult((r) => results.push(r));
    await client.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    // windows are [0, 2), [1, 3), [2, 4) s: the last two contain flagged samples
    await streamEcg(
      client,
      'ecg0',
      4,
      () => 1,
      (s) => (s >= 2.6 ? 1 : 0),
    );
    await until(() => results.length === 3);
    const kinds = [...results].sort((a, b) => a.window - b.window).map((r) => r.status.kind);
    expect(kinds).toEqual(['ok', 'fallback', 'fallback']);
    expect(results.find((r) => r.window === 2)?.status).toMatchObject({
      kind: 'fallback',
      reason: 'QUALITY_SENSOR_FLAG',
      output: { kind: 'suppressed' },
    });
    await client.close();
  });

  it('answers bad requests with the runtime’s codes and keeps the stream usable', async () => {
    const client = await connect('dev-bad');
    const errors: string[] = [];
    const results: ResultMessage[] = [];
    client.onError((e) => errors.push(e.code));
    client.onResult((r) => results.push(r));
    const refused = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p;
        return 'accepted';
      } catch (error) {
        return (error as { code: string }).code;
      }
    };
    expect(await refused(client.openStream({ stream: 'p', sensor: 'ppg', rateHz: 64, channels: 1 }))).toBe(
      'NO_MODEL_FOR_SENSOR',
    );
    expect(await refused(client.openStream({ stream: 'e', sensor: 'ecg', rateHz: 300, channels: 1 }))).toBe(
      'RATE_MISMATCH',
    );
    expect(await refused(client.openStream({ stream: 'e', sensor: 'ecg', rateHz: 250, channels: 2 }))).toBe(
      'CHANNEL_MISMATCH',
    );
    await client.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    const send = (counter: number, extra: object = {}): Promise<void> =>
      client.sendSamples({
        stream: 'ecg0',
        counter,
        timestampMs: counter * 4,
        rateHz: 250,
        channels: [ecgChunk(counter, 250)],
        ...extra,
      });
    await send(0);
    await send(0); // overlaps what was received
    await send(250, { rateHz: 500 });
    await send(250, { channels: [ecgChunk(250, 250), ecgChunk(250, 250)] });
    await send(250);
    const before = performance.now();
    await send(2 ** 40); // a jump the runtime would fill window by window for minutes
    await send(500);
    await until(() => errors.length === 4 && results.length === 2);
    expect(performance.now() - before).toBeLessThan(1000);
    expect(errors).toEqual(['OUT_OF_ORDER', 'RATE_MISMATCH', 'CHANNEL_MISMATCH', 'COUNTER_GAP']);
    expect(client.state).toBe('ready');
    await client.close();
  });

  it('keeps serving everyone while one client floods requests and never reads', async () => {
    const hog = net.connect(socketPath);
    await new Promise<void>((r) => hog.once('connect', r));
    hog.on('error', () => undefined);
    hog.write(
      encodeFrame(
        { type: 'hello', id: 1, versions: [1], device: 'hog', firmware: 'x', sensors: [] },
        1 << 20,
      ),
    );
    const ping = encodeFrame({ type: 'ping', id: 2 }, 1 << 20);
    const burst = Buffer.concat(Array.from({ length: 2000 }, () => ping));
    let flooding = true;
    const flood = (): void => {
      while (flooding && hog.write(burst)) {
        // keep writing until the kernel pushes back
      }
      if (flooding) hog.once('drain', flood);
    };
    hog.pause(); // never read the answers
    flood();

    const client = await connect('dev-good');
    const results: ResultMessage[] = [];
    client.onResult((r) => results.push(r));
    await client.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    await until(() => server.counters().readPauses > 0);
    const rtts: number[] = [];
    for (let i = 0; i < 5; i += 1) rtts.push(await client.ping());
    await streamEcg(client, 'ecg0', 6);
    await until(() => results.length === 5);
    expect(Math.max(...rtts)).toBeLessThan(250);
    expect(server.counters().connectionsOpen).toBeGreaterThanOrEqual(2);
    flooding = false;
    hog.destroy();
    await client.close();
  });

  it('runs as a child process of the firmware over stdio', async () => {
    const script = fileURLToPath(new URL('./helpers/stdio-runtime.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const client = await BridgeClient.connect({
      transport: {
        kind: 'streams',
        open: () => Promise.resolve({ input: child.stdout, output: child.stdin }),
      },
      device: 'dev-parent',
      firmware: 'fw',
      reconnect: false,
    });
    expect(client.session?.server.device).toBe('gateway-child');
    const results: ResultMessage[] = [];
    client.onResult((r) => results.push(r));
    await client.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    await streamEcg(client, 'ecg0', 4);
    await until(() => results.length === 3, 15_000);
    await client.close(); // ends the child's stdin
    expect(await exited).toBe(0);
    expect(stderr).toContain('firmware closed stdin');
  });
});
