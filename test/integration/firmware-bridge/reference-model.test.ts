// The bridge in front of the runtime as the daemon assembles it, with the af-screener reference
// model: simulated ECG streamed by the TypeScript client and by the C client (same samples) gets the
// same results, with the reference bundle's provenance.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient } from '../../../firmware-bridge/client/index.ts';
import type { ResultMessage } from '../../../firmware-bridge/protocol/index.ts';
import { startBridgeServer, type BridgeServerHandle } from '../../../firmware-bridge/server/index.ts';
import { assembleRuntime, type AssembledRuntime } from '../../../runtime/assemble.ts';
import { DEFAULT_CONFIG } from '../../../runtime/config.ts';
import { simulateSignal } from '../../../simulator/index.ts';
import { referenceArtifacts } from '../pipeline/helpers/reference.ts';

const C_DIR = fileURLToPath(new URL('../../../firmware-bridge/c/', import.meta.url));
const SECONDS = 60; // 30 s windows every 5 s: windows 0..6

let dir: string;
let assembled: AssembledRuntime;
let server: BridgeServerHandle;
let socketPath: string;
let samples: Float32Array;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bridge-ref-'));
  assembled = await assembleRuntime([referenceArtifacts('af-screener')], {
    config: { ...DEFAULT_CONFIG, backend: 'node', inferenceDeadlineMs: 5_000 },
  });
  socketPath = path.join(dir, 'bridge.sock');
  server = await startBridgeServer({
    runtime: assembled.runtime,
    transports: [{ kind: 'unix', path: socketPath }],
  });
  const signal = simulateSignal({ kind: 'ecg', seconds: SECONDS, seed: 11, clean: true });
  if (signal.kind !== 'ecg') throw new Error('expected an ECG signal');
  samples = signal.samples;
});

afterAll(async () => {
  await server.close();
  await assembled.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('bridge with the af-screener reference model', () => {
  it('gives the TypeScript and the C client the same results for the same samples', async () => {
    const client = await BridgeClient.connect({
      transport: { kind: 'unix', path: socketPath },
      device: 'ts-wearer',
      firmware: 'fw',
      reconnect: false,
    });
    const fromTs: ResultMessage[] = [];
    client.onResult((r) => fromTs.push(r));
    await client.openStream({ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1 });
    for (let i = 0; i < samples.length; i += 50) {
      await client.sendSamples({
        stream: 'ecg0',
        counter: i,
        timestampMs: 1_700_000_000_000 + i * 4,
        rateHz: 250,
        channels: [samples.subarray(i, i + 50)],
      });
    }
    const start = Date.now();
    while (fromTs.length < 7 && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 10));
    await client.close();
    expect(fromTs.map((r) => r.window).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const r of fromTs) {
      expect(r.status.kind).toBe('ok');
      expect(r.provenance).toMatchObject({ modelFamily: 'af-screener', backend: 'node' });
      expect(r.provenance.bundleId).toMatch(/^af-screener@/);
      expect(r.provenance.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    }

    const binary = path.join(dir, 'example');
    execFileSync('cc', [
      '-std=c99',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-pedantic',
      '-O2',
      '-o',
      binary,
      path.join(C_DIR, 'example.c'),
      path.join(C_DIR, 'vigil_bridge.c'),
    ]);
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(binary, [
        '--unix',
        socketPath,
        '--device',
        'c-wearer',
        '--stdin',
        '--idle-ms',
        '1000',
      ]);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve(out);
        else reject(new Error(`example exited with ${code}: ${out}`));
      });
      child.stdin.end(Array.from(samples, (v) => v.toPrecision(9)).join('\n'));
    });
    const fromC = new Map(
      stdout
        .split('\n')
        .filter((l) => l.startsWith('result '))
        .map((l) => {
          const f = Object.fromEntries(
            l
              .split(' ')
              .slice(1)
              .map((kv) => kv.split('=') as [string, string]),
          );
          return [Number(f.window), f] as const;
        }),
    );
    expect(fromC.size).toBe(7);
    for (const r of fromTs) {
      const c = fromC.get(r.window);
      expect(c?.kind).toBe('ok');
      expect(c?.bundle).toBe(r.provenance.bundleId);
      if (r.status.kind === 'ok') {
        expect(Math.fround(Number(c?.score))).toBe(r.status.score);
        expect(c?.label).toBe(r.status.label);
      }
    }
  });
});
