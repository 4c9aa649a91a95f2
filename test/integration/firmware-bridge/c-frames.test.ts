// The C client's frame reader against frames written by the server's own encoder (review 4): manifest
// names and versions up to 128 characters fit (they used to be refused at 64, and the refused frame's
// predecessors were handed to the callbacks again on every poll), provenance carries the manifest
// hash and thresholds version, and a frame the client cannot read closes it instead of looping.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../firmware-bridge/protocol/framing.ts';
import { outgoingMessage } from '../../../firmware-bridge/server/outgoing.ts';
import type { WindowResult } from '../../../runtime/pipeline/result.ts';

const HARNESS = fileURLToPath(new URL('../../fixtures/c/frame-harness.c', import.meta.url));
const SHA = 'cd'.repeat(32);
let dir: string;
let binary: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-c-frames-'));
  binary = path.join(dir, 'harness');
  execFileSync('cc', [
    '-std=c99',
    '-D_POSIX_C_SOURCE=200809L',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-O1',
    '-o',
    binary,
    HARNESS,
  ]);
});

function resultFrame(seq: number, label: string, version: string): Buffer {
  const result = {
    resultId: `s:e.1:${String(seq)}:fall-detector`,
    windowIndex: seq,
    firstCounter: seq * 50,
    lastCounter: seq * 50 + 199,
    startMs: 1_000_000 + seq * 1000,
    endMs: 1_004_000 + seq * 1000,
    cohort: 'age=65+',
    status: { kind: 'ok', score: 0.9, positive: true, label, alert: true },
    provenance: {
      bundleId: 'fall-detector@1.0.0',
      modelFamily: 'fall-detector',
      modelVersion: version,
      sequence: 1,
      manifestSha256: SHA,
      thresholdsVersion: 'thr-1',
      postprocessingVersion: 'pp-1',
      qualityPolicyVersion: 'q-1',
      fallbackPolicyVersion: 'f-1',
      runtimeVersion: '0.1.0',
      backend: 'node',
    },
    latencyMs: 2,
  } as unknown as WindowResult;
  return encodeFrame(outgoingMessage({ kind: 'result', seq, stream: 's', result }), 1 << 20);
}

function run(frames: readonly Buffer[]): string[] {
  const file = path.join(dir, `frames-${String(Math.random()).slice(2)}.bin`);
  fs.writeFileSync(file, Buffer.concat(frames));
  return execFileSync(binary, [file], { encoding: 'utf8' }).trim().split('\n');
}

describe('C client frame reader', () => {
  it('reads labels and versions up to the manifest limit of 128 characters, with full provenance', () => {
    const out = run([
      resultFrame(1, 'x'.repeat(64), '1.0.0'),
      resultFrame(2, 'y'.repeat(128), `1.0.0-${'a'.repeat(122)}`),
    ]);
    expect(out[0]).toBe(`result seq=1 label_len=64 version_len=5 manifest=${SHA} thresholds=thr-1 alert=1`);
    expect(out[1]).toBe(
      `result seq=2 label_len=128 version_len=128 manifest=${SHA} thresholds=thr-1 alert=1`,
    );
    expect(out[2]).toBe('poll 1 -> 2');
  });

  it('closes on a frame it cannot read, never handing the frames before it over twice', () => {
    const out = run([resultFrame(1, 'fall', '1.0.0'), resultFrame(2, 'z'.repeat(200), '1.0.0')]);
    expect(out.filter((line) => line.startsWith('result'))).toEqual([
      `result seq=1 label_len=4 version_len=5 manifest=${SHA} thresholds=thr-1 alert=1`,
    ]);
    const polls = out.filter((line) => line.startsWith('poll')).map((line) => Number(line.split('-> ')[1]));
    expect(polls).toHaveLength(3);
    expect(polls.every((rc) => rc < 0)).toBe(true);
  });
});
