import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'cbor-x';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../scripts/cli/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-sim-cli-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(['simulate', 'signal', ...args]);
    return { code, stderr };
  } finally {
    spy.mockRestore();
  }
}

describe('vigil simulate signal', () => {
  it('writes an ECG CSV with a header and a time_s column', async () => {
    const out = join(dir, 'ecg.csv');
    const { code } = await run(['--kind', 'ecg', '--seconds', '4', '--seed', '1', '--out', out]);
    expect(code).toBe(0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('time_s,ecg_mv,missing,lead_off');
    expect(lines).toHaveLength(4 * 250 + 1);
    expect(lines[1]?.startsWith('0,')).toBe(true);
    expect(lines[2]?.startsWith('0.004,')).toBe(true);
    const values = lines.slice(1).map((l) => Number(l.split(',')[1]));
    expect(Math.max(...values)).toBeGreaterThan(0.4);
  });

  it('writes the same bytes twice for the same seed', async () => {
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    await run(['--kind', 'ppg', '--seconds', '5', '--seed', '9', '--artifact', 'noise:snrDb=20', '--out', a]);
    await run(['--kind', 'ppg', '--seconds', '5', '--seed', '9', '--artifact', 'noise:snrDb=20', '--out', b]);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('writes CBOR with typed arrays, annotations and lead-off flags', async () => {
    const out = join(dir, 'ecg.cbor');
    const { code } = await run([
      '--kind',
      'ecg',
      '--seconds',
      '6',
      '--seed',
      's1',
      '--rhythm',
      'af',
      '--rate',
      '200',
      '--cohort',
      'age=65+;placement=chest',
      '--artifact',
      'lead-off:startS=1,endS=2',
      '--artifact',
      'powerline:freqHz=60',
      '--out',
      out,
    ]);
    expect(code).toBe(0);
    const doc = decode(readFileSync(out)) as Record<string, unknown>;
    expect(doc['format']).toBe('vigil-sim-signal/1');
    expect(doc['kind']).toBe('ecg');
    expect(doc['rateHz']).toBe(200);
    expect(doc['cohort']).toBe('age=65+;activity=active;placement=chest');
    expect(doc['samples']).toBeInstanceOf(Float32Array);
    expect((doc['samples'] as Float32Array).length).toBe(1200);
    const flags = doc['flags'] as Uint8Array;
    expect(flags.reduce((s, v) => s + v, 0)).toBe(200);
    const ann = doc['annotations'] as { rhythm: { rhythm: string }[]; artifacts: { kind: string }[] };
    expect(ann.rhythm[0]?.rhythm).toBe('af');
    // the cohort's intrinsic sensor noise is part of the signal; annotations list the requested artifacts
    expect(ann.artifacts.map((a) => a.kind).sort()).toEqual(['lead-off', 'powerline']);
  });

  it('writes accelerometer and RR CSVs', async () => {
    const acc = join(dir, 'acc.csv');
    expect(
      (
        await run([
          '--kind',
          'accel',
          '--seconds',
          '8',
          '--seed',
          '2',
          '--activity',
          'fall-backward',
          '--out',
          acc,
        ])
      ).code,
    ).toBe(0);
    const lines = readFileSync(acc, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('time_s,x_g,y_g,z_g,missing');
    expect(lines).toHaveLength(401);
    const rrFile = join(dir, 'rr.csv');
    expect(
      (await run(['--kind', 'rr', '--seconds', '30', '--seed', '2', '--rhythm', 'af', '--out', rrFile])).code,
    ).toBe(0);
    const rr = readFileSync(rrFile, 'utf8').trimEnd().split('\n');
    expect(rr[0]).toBe('time_s,rr_ms,kind');
    expect(rr.slice(1).every((l) => l.endsWith(',AF'))).toBe(true);
  });

  it.each([
    [['--seconds', '4', '--seed', '1', '--out', 'x.csv'], /--kind/],
    [['--kind', 'eeg', '--seconds', '4', '--seed', '1', '--out', 'x.csv'], /--kind/],
    [['--kind', 'ecg', '--seconds', 'abc', '--seed', '1', '--out', 'x.csv'], /--seconds/],
    [['--kind', 'ecg', '--seconds', '-3', '--seed', '1', '--out', 'x.csv'], /seconds/],
    [['--kind', 'ecg', '--seconds', '4', '--out', 'x.csv'], /--seed/],
    [['--kind', 'ecg', '--seconds', '4', '--seed', '1'], /--out/],
    [['--kind', 'ecg', '--seconds', '4', '--seed', '1', '--out', 'x.txt'], /\.csv or \.cbor/],
    [['--kind', 'ecg', '--seconds', '4', '--seed', '1', '--rhythm', 'vt', '--out', 'x.csv'], /--rhythm/],
    [
      ['--kind', 'ecg', '--seconds', '4', '--seed', '1', '--artifact', 'bogus', '--out', 'x.csv'],
      /unknown artifact/,
    ],
    [
      ['--kind', 'ecg', '--seconds', '4', '--seed', '1', '--artifact', 'noise:sd=x', '--out', 'x.csv'],
      /number/,
    ],
    [['--kind', 'ecg', '--seconds', '4', '--seed', '1', '--cohort', 'age=12', '--out', 'x.csv'], /age band/],
    [['--kind', 'ecg', '--seconds', '4', '--seed', '1', '--rate', '5', '--out', 'x.csv'], /rateHz/],
    [['--kind', 'rr', '--seconds', '4', '--seed', '1', '--rate', '250', '--out', 'x.csv'], /rr/],
    [
      ['--kind', 'accel', '--seconds', '4', '--seed', '1', '--activity', 'flying', '--out', 'x.csv'],
      /--activity/,
    ],
  ])('rejects bad arguments with BAD_ARGUMENT: %s', async (args, message) => {
    const out = join(dir, 'never.csv');
    const argv = args.map((a) => (a === 'x.csv' || a === 'x.txt' ? join(dir, a) : a));
    const { code, stderr } = await run(argv);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/^vigil: BAD_ARGUMENT: /);
    expect(stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'x.csv'))).toBe(false);
  });
});
