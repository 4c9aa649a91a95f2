import { describe, expect, it } from 'vitest';
import {
  calibrateCusum,
  calibratePageHinkley,
  Cusum,
  generateStream,
  PageHinkley,
  SeededRandom,
} from '../../../../monitor/stats/index.ts';
import type { ChangeSignal, PageHinkleyConfig } from '../../../../monitor/stats/index.ts';
import { codeOf } from './fixtures.ts';

const normal = { kind: 'sampler' as const, draw: (r: SeededRandom): number => r.normal() };

interface Detector {
  update(x: number): ChangeSignal;
}

/** Alarms on a fresh in-control stream from a seed the calibration never saw. */
function freshAlarms(make: () => Detector, length: number, seed: number): number {
  const values = generateStream(normal, length, SeededRandom.fromSeed(seed));
  const detector = make();
  let alarms = 0;
  for (const x of values) if (detector.update(x) !== 'none') alarms++;
  return alarms;
}

/** Windows from a +shift step (after `before` in-control windows) to the first alarm; trials with an earlier alarm are skipped. */
function detectionDelays(make: () => Detector, shift: number, trials: number, seed: number): number[] {
  const random = SeededRandom.fromSeed(seed);
  const delays: number[] = [];
  for (let t = 0; t < trials; t++) {
    const detector = make();
    let early = false;
    for (let i = 0; i < 300; i++) if (detector.update(random.normal()) !== 'none') early = true;
    if (early) continue;
    let delay = 1;
    while (detector.update(random.normal() + shift) === 'none' && delay < 10_000) delay++;
    delays.push(delay);
  }
  return delays.sort((a, b) => a - b);
}

const median = (xs: readonly number[]): number => xs[xs.length >> 1] ?? Number.NaN;

describe('Page–Hinkley calibrated by simulation', () => {
  const calibration = calibratePageHinkley({
    stream: normal,
    delta: 0.25,
    targetFalseAlarmsPer10k: 2,
    seed: 1,
    streamLength: 250_000,
  });

  it('states a validated false-alarm rate whose interval covers the target', () => {
    expect(calibration.calibrationFalseAlarmsPer10k).toBeLessThanOrEqual(2);
    expect(calibration.validation.windows).toBe(250_000);
    expect(calibration.validation.lower).toBeLessThanOrEqual(2);
    expect(calibration.validation.upper).toBeGreaterThanOrEqual(2);
    expect(calibration.config.lambda).toBeGreaterThan(5);
  });

  it('keeps the false-alarm rate on a fresh in-control stream (Poisson tolerance)', () => {
    const alarms = freshAlarms(() => new PageHinkley(calibration.config), 500_000, 99);
    const expected = (2 * 500_000) / 10_000; // 100
    // 4 Poisson SDs plus 25 % for the threshold's own calibration noise (≈ 70 calibration alarms).
    expect(Math.abs(alarms - expected)).toBeLessThan(4 * Math.sqrt(expected) + 0.25 * expected);
  });

  it('detects a one-SD mean shift quickly', () => {
    const delays = detectionDelays(() => new PageHinkley(calibration.config), 1, 200, 5);
    expect(delays.length).toBeGreaterThan(180);
    expect(median(delays)).toBeLessThan(30);
    expect(delays[delays.length - 1]).toBeLessThan(150);
    // …and a lower threshold would detect faster but alarm more: the trade-off is real.
    const loose = { ...calibration.config, lambda: calibration.config.lambda / 2 };
    expect(median(detectionDelays(() => new PageHinkley(loose), 1, 200, 5))).toBeLessThan(median(delays));
    expect(freshAlarms(() => new PageHinkley(loose), 100_000, 98)).toBeGreaterThan(100);
  });

  it('serialises its state and resumes identically after a restart', () => {
    const config = calibration.config;
    const values = generateStream(normal, 20_000, SeededRandom.fromSeed(3)).map((x, i) =>
      i > 12_000 ? x + 0.7 : x,
    );
    const straight = new PageHinkley(config);
    const expected = Array.from(values, (x) => straight.update(x));
    let detector = new PageHinkley(config);
    const got: ChangeSignal[] = [];
    values.forEach((x, i) => {
      if (i % 997 === 0) detector = PageHinkley.restore(config, JSON.parse(JSON.stringify(detector.state())));
      got.push(detector.update(x));
    });
    expect(got).toEqual(expected);
    expect(expected).toContain('up');
  });

  it('uses a fixed reference mean when asked and alarms downward too', () => {
    const config: PageHinkleyConfig = {
      delta: 0.1,
      lambda: 5,
      direction: 'both',
      baseline: { kind: 'reference', mean: 10 },
      minSamples: 1,
    };
    const detector = new PageHinkley(config);
    let signal: ChangeSignal = 'none';
    for (let i = 0; i < 20 && signal === 'none'; i++) signal = detector.update(9);
    expect(signal).toBe('down');
    expect(detector.state().count).toBe(0); // reset after the alarm
    const upOnly = new PageHinkley({ ...config, direction: 'up' });
    for (let i = 0; i < 100; i++) expect(upOnly.update(9)).toBe('none');
  });
});

describe('CUSUM', () => {
  const calibration = calibrateCusum({
    stream: normal,
    target: 0,
    k: 0.5,
    direction: 'up',
    targetFalseAlarmsPer10k: 2,
    seed: 2,
    streamLength: 250_000,
  });

  it('calibrates h near the classical value and matches the theoretical detection delay', () => {
    // Siegmund's approximation for ARL0 = 5000 with k = 0.5 gives h ≈ 6.8.
    expect(calibration.config.h).toBeGreaterThan(6);
    expect(calibration.config.h).toBeLessThan(7.6);
    const delays = detectionDelays(() => new Cusum(calibration.config), 1, 300, 6);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    // Siegmund: ARL1 ≈ (e^{−2Δb} + 2Δb − 1)/(2Δ²) with Δ = 0.5, b = h + 1.166 ⇒ ≈ 14 for h ≈ 6.8.
    const b = calibration.config.h + 1.166;
    const siegmund = (Math.exp(-b) + b - 1) / 0.5;
    expect(Math.abs(mean - siegmund)).toBeLessThan(0.15 * siegmund);
  });

  it('keeps the false-alarm rate on a fresh stream', () => {
    const alarms = freshAlarms(() => new Cusum(calibration.config), 500_000, 97);
    expect(Math.abs(alarms - 100)).toBeLessThan(4 * 10 + 25);
  });

  it('monitors a quality-failure indicator (Bernoulli) and detects a doubled failure rate', () => {
    const p0 = 0.02;
    const bernoulli = (p: number) => ({
      kind: 'sampler' as const,
      draw: (r: SeededRandom): number => (r.uniform() < p ? 1 : 0),
    });
    const quality = calibrateCusum({
      stream: bernoulli(p0),
      target: p0,
      k: 0.01,
      direction: 'up',
      targetFalseAlarmsPer10k: 1,
      seed: 8,
      streamLength: 400_000,
    });
    expect(quality.validation.falseAlarmsPer10k).toBeLessThan(2.5);
    const doubled = generateStream(bernoulli(2 * p0), 20_000, SeededRandom.fromSeed(4));
    const detector = new Cusum(quality.config);
    const firstAlarm = doubled.findIndex((x) => detector.update(x) !== 'none');
    expect(firstAlarm).toBeGreaterThan(0);
    expect(firstAlarm).toBeLessThan(3000);
  });

  it('round-trips its state and rejects corrupted states', () => {
    const detector = new Cusum(calibration.config);
    for (const x of [0.9, 1.2, 0.3]) detector.update(x);
    const restored = Cusum.restore(calibration.config, JSON.parse(JSON.stringify(detector.state())));
    expect(restored.state()).toEqual(detector.state());
    expect(restored.statistics().up).toBeCloseTo(0.9 - 0.5 + 1.2 - 0.5 + 0.3 - 0.5, 12);
    for (const bad of [
      null,
      { kind: 'page-hinkley', count: 0, high: 0, low: 0 },
      { kind: 'cusum', count: -1, high: 0, low: 0 },
      { kind: 'cusum', count: 1, high: -2, low: 0 },
      { kind: 'cusum', count: 1, high: 'x', low: 0 },
      { kind: 'cusum', count: 1, high: 0, low: 0, extra: 1 },
    ]) {
      expect(codeOf((raw: unknown) => Cusum.restore(calibration.config, raw), bad)).toBe('BAD_STATE');
    }
    const ph: PageHinkleyConfig = {
      delta: 0,
      lambda: 1,
      direction: 'up',
      baseline: { kind: 'running' },
      minSamples: 1,
    };
    const state = { kind: 'page-hinkley', count: 2, mean: 0, up: 1, upMin: 2, down: 0, downMax: 0 };
    expect(codeOf((raw: unknown) => PageHinkley.restore(ph, raw), state)).toBe('BAD_STATE');
  });
});

describe('calibration inputs', () => {
  it('bootstraps reference values, in blocks when asked', () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => i);
    const blocks = generateStream(
      { kind: 'bootstrap', values, blockLength: 10 },
      50,
      SeededRandom.fromSeed(1),
    );
    for (let i = 1; i < 10; i++) expect(blocks[i]).toBe((blocks[0] ?? 0) + i); // contiguous within a block
    const iid = generateStream({ kind: 'bootstrap', values }, 1000, SeededRandom.fromSeed(1));
    expect(new Set(iid).size).toBeGreaterThan(50);
    for (const x of iid) expect(Number.isInteger(x) && x >= 0 && x < 100).toBe(true);
  });

  it('calibrates from a bootstrap of reference scores', () => {
    const random = SeededRandom.fromSeed(12);
    const scores = Array.from({ length: 5000 }, () => Math.min(1, Math.max(0, 0.2 + 0.1 * random.normal())));
    const c = calibratePageHinkley({
      stream: { kind: 'bootstrap', values: scores },
      delta: 0.02,
      targetFalseAlarmsPer10k: 5,
      seed: 3,
      streamLength: 100_000,
      direction: 'up',
    });
    expect(c.validation.lower).toBeLessThan(5);
    expect(c.validation.upper).toBeGreaterThan(5);
  });

  it('rejects bad configurations and options with codes', () => {
    const base: PageHinkleyConfig = {
      delta: 0.1,
      lambda: 1,
      direction: 'both',
      baseline: { kind: 'running' },
      minSamples: 1,
    };
    expect(codeOf((c: PageHinkleyConfig) => new PageHinkley(c), { ...base, lambda: 0 })).toBe('BAD_ARGUMENT');
    expect(codeOf((c: PageHinkleyConfig) => new PageHinkley(c), { ...base, delta: -1 })).toBe('BAD_ARGUMENT');
    expect(codeOf((c: PageHinkleyConfig) => new PageHinkley(c), { ...base, minSamples: 0 })).toBe(
      'BAD_ARGUMENT',
    );
    expect(codeOf((x: number) => new PageHinkley(base).update(x), Number.NaN)).toBe('BAD_ARGUMENT');
    const options = { stream: normal, delta: 0.1, targetFalseAlarmsPer10k: 1, seed: 1, streamLength: 10_000 };
    expect(codeOf(calibratePageHinkley, options)).toBe('BAD_ARGUMENT'); // expects only 1 alarm: too short
    expect(codeOf(calibratePageHinkley, { ...options, targetFalseAlarmsPer10k: 0 })).toBe('BAD_ARGUMENT');
    expect(
      codeOf(calibrateCusum, { stream: normal, target: 0, k: -1, targetFalseAlarmsPer10k: 1, seed: 1 }),
    ).toBe('BAD_ARGUMENT');
    expect(
      codeOf(
        generateStream,
        { kind: 'bootstrap', values: [1, 2], blockLength: 3 },
        10,
        SeededRandom.fromSeed(1),
      ),
    ).toBe('BAD_ARGUMENT');
  });
});
