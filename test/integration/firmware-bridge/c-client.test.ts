// The C client (firmware-bridge/c) compiled with the machine's C compiler in strict C99 mode and run
// against a real runtime (real pipeline, real ONNX session) over a Unix socket and over TCP.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient } from '../../../firmware-bridge/client/index.ts';
import type { ResultMessage } from '../../../firmware-bridge/protocol/index.ts';
import { startBridgeServer, type BridgeServerHandle } from '../../../firmware-bridge/server/index.ts';
import { createRealRuntime, ecgChunk, type RealRuntime } from './helpers/real-runtime.ts';

const C_DIR = fileURLToPath(new URL('../../../firmware-bridge/c/', import.meta.url));
const FLAGS = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic', '-O2'];

let dir: string;
let binary: string;
let compilerOutput: string;
let real: RealRuntime;
let server: BridgeServerHandle;
let socketPath: string;
let tcpPort: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bridge-c-'));
  binary = path.join(dir, 'example');
  compilerOutput = execFileSync(
    'cc',
    [...FLAGS, '-o', binary, path.join(C_DIR, 'example.c'), path.join(C_DIR, 'vigil_bridge.c')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  real = await createRealRuntime();
  socketPath = path.join(dir, 'bridge.sock');
  server = await startBridgeServer({
    runtime: real.runtime,
    transports: [
      { kind: 'unix', path: socketPath },
      { kind: 'tcp', host: '127.0.0.1', port: 0 },
    ],
  });
  const tcp = server.addresses.find((a) => a.kind === 'tcp');
  tcpPort = tcp?.kind === 'tcp' ? tcp.port : 0;
});

afterAll(async () => {
  await server.close();
  await real.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

type Fields = Record<string, string>;

function lines(out: string, kind: string): Fields[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith(`${kind} `))
    .map((l) =>
      Object.fromEntries(
        l
          .slice(kind.length + 1)
          .split(' ')
          .map((kv) => kv.split('=') as [string, string]),
      ),
    );
}

describe('C client (vigil_bridge.c + example.c)', () => {
  it('compiles without a single warning under -std=c99 -Wall -Wextra -Werror -pedantic', () => {
    expect(compilerOutput).toBe('');
    expect(fs.statSync(binary).isFile()).toBe(true);
  });

  it('streams synthetic ECG over a Unix socket and receives one result per window, then labels one', async () => {
    const out = await run([
      '--unix',
      socketPath,
      '--device',
      'c-unix',
      '--seconds',
      '10',
      '--label',
      '--idle-ms',
      '800',
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const results = lines(out.stdout, 'result');
    // 10 s of signal, 2 s windows every 1 s: windows 0..8
    expect(results.map((r) => Number(r.window)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const r of results) {
      expect(r).toMatchObject({ kind: 'ok', bundle: 'ecg-test@1.0.0' });
      expect(r.id).toMatch(new RegExp(`^c-unix/ecg0:[A-Za-z0-9_.-]+:${r.window}:ecg-test$`));
      expect(Number(r.last) - Number(r.first)).toBe(499);
    }
    expect(lines(out.stdout, 'label')).toEqual([{ rc: '0', outcome: 'accepted' }]);
    expect(lines(out.stdout, 'summary')).toEqual([
      { results: '9', alerts: '0', fallbacks: '0', errors: '0' },
    ]);
  });

  it('sends float32 samples bit-exactly: the same samples from C and from the TS client score the same', async () => {
    const samples = ecgChunk(0, 2500, 250, 2); // 10 s at twice the normal amplitude: scores well inside (0, 1)
    const text = Array.from(samples, (v) => v.toPrecision(9)).join('\n');
    const c = await run(['--unix', socketPath, '--device', 'c-stdin', '--stdin', '--idle-ms', '800'], text);
    expect(c.code).toBe(0);
    const fromC = new Map(lines(c.stdout, 'result').map((r) => [Number(r.window), Number(r.score)]));

    const client = await BridgeClient.connect({
      transport: { kind: 'unix', path: socketPath },
      device: 'ts-ref',
      firmware: 'ts',
      reconnect: false,
    });
    const fromTs = new Map<number, number>();
    client.onResult((r: ResultMessage) => {
      if (r.status.kind === 'ok') fromTs.set(r.window, r.status.score);
    });
    await client.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    for (let i = 0; i < 2500; i += 50) {
      await client.sendSamples({
        stream: 'ecg0',
        counter: i,
        timestampMs: 1_700_000_000_000 + i * 4,
        rateHz: 250,
        channels: [samples.subarray(i, i + 50)],
      });
    }
    const start = Date.now();
    while (fromTs.size < 9 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
    await client.close();
    expect(fromC.size).toBe(9);
    expect([...fromTs.keys()].sort((a, b) => a - b)).toEqual([...fromC.keys()].sort((a, b) => a - b));
    // The model emits float32 scores; %.9g prints enough digits to recover a float32 exactly.
    for (const [window, score] of fromTs) expect(Math.fround(fromC.get(window) ?? Number.NaN)).toBe(score);
    expect(new Set(fromC.values()).size).toBeGreaterThan(1);
  });

  it('sends int16 samples with a scale and lead-off flags over TCP: flagged windows fall back', async () => {
    const out = await run([
      '--tcp',
      '127.0.0.1',
      String(tcpPort),
      '--device',
      'c-tcp',
      '--seconds',
      '8',
      '--int16',
      '--lead-off-after',
      '5',
      '--idle-ms',
      '800',
    ]);
    expect(out.code).toBe(0);
    const byWindow = new Map(lines(out.stdout, 'result').map((r) => [Number(r.window), r]));
    expect([...byWindow.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const [window, r] of byWindow) {
      // window w covers [w, w + 2) s: flagged once it reaches past 5 s
      if (window + 2 > 5)
        expect(r).toMatchObject({ kind: 'fallback', reason: 'QUALITY_SENSOR_FLAG', output: 'suppressed' });
      else expect(r).toMatchObject({ kind: 'ok' });
    }
  });

  it('reports a refused stream (wrong rate) with the server’s code and exits with status 2', async () => {
    const out = await run(['--unix', socketPath, '--device', 'c-bad', '--rate', '500', '--seconds', '1']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('RATE_MISMATCH');
  });
});
