// Beat detectors against synthetic signals with known beat positions (test/unit/models/ops/
// synthetic.ts). Acceptance (the brief): every detection within ±2 samples of the true beat, and
// sensitivity and positive predictive value ≥ 99 % at moderate noise.
import { describe, expect, it } from 'vitest';
import { applyOp, signal } from './helpers.ts';
import { score, synthEcg, synthPpg } from './synthetic.ts';
import type { EcgOptions, PpgOptions, Score } from './synthetic.ts';

function indicesOf(v: ReturnType<typeof applyOp>): Int32Array {
  if (v.kind !== 'events') throw new Error(`expected events, got ${v.kind}`);
  return v.indices;
}

const MODERATE = { noiseMv: 0.05, wanderMv: 0.3, mainsMv: 0.05 };

const ECG_CASES: readonly (Omit<EcgOptions, 'seconds'> & { readonly label: string })[] = [
  { label: 'sinus 60 bpm', rateHz: 250, hrBpm: 60, rhythm: 'sinus', seed: 1, ...MODERATE },
  { label: 'sinus 75 bpm', rateHz: 250, hrBpm: 75, rhythm: 'sinus', seed: 2, ...MODERATE },
  { label: 'sinus 45 bpm', rateHz: 250, hrBpm: 45, rhythm: 'sinus', seed: 3, ...MODERATE },
  { label: 'tachycardia 150 bpm', rateHz: 250, hrBpm: 150, rhythm: 'sinus', seed: 4, ...MODERATE },
  { label: 'AF 90 bpm', rateHz: 250, hrBpm: 90, rhythm: 'af', seed: 5, ...MODERATE },
  { label: 'AF 130 bpm', rateHz: 250, hrBpm: 130, rhythm: 'af', seed: 6, ...MODERATE },
  { label: 'PVC bigeminy-like ectopy', rateHz: 250, hrBpm: 70, rhythm: 'pvc', seed: 7, ...MODERATE },
  { label: 'inverted lead', rateHz: 250, hrBpm: 80, rhythm: 'sinus', seed: 8, polarity: -1, ...MODERATE },
  {
    label: 'noisier (0.1 mV)',
    rateHz: 250,
    hrBpm: 72,
    rhythm: 'sinus',
    seed: 9,
    noiseMv: 0.1,
    wanderMv: 0.5,
    mainsMv: 0.1,
  },
  { label: '360 Hz', rateHz: 360, hrBpm: 85, rhythm: 'af', seed: 10, ...MODERATE },
  { label: '500 Hz', rateHz: 500, hrBpm: 65, rhythm: 'sinus', seed: 11, ...MODERATE },
  { label: '128 Hz', rateHz: 128, hrBpm: 95, rhythm: 'pvc', seed: 12, ...MODERATE },
  // Beats at 40 % amplitude fall below THRESHOLD_I1 and are only found by search-back.
  {
    label: 'weak beats (search-back)',
    rateHz: 250,
    hrBpm: 70,
    rhythm: 'sinus',
    seed: 13,
    weakEvery: 6,
    weakAmp: 0.4,
    ...MODERATE,
  },
];

function ecgScore(c: (typeof ECG_CASES)[number]): Score {
  const { x, beats } = synthEcg({ ...c, seconds: 30 });
  const det = indicesOf(applyOp('pan_tompkins@1', {}, [signal(c.rateHz, x)]));
  return score(beats, det, x.length, 2, Math.round(0.1 * c.rateHz));
}

function total(scores: readonly Score[]): { sens: number; ppv: number; maxErr: number } {
  const tp = scores.reduce((s, x) => s + x.tp, 0);
  const fn = scores.reduce((s, x) => s + x.fn, 0);
  const fp = scores.reduce((s, x) => s + x.fp, 0);
  return { sens: tp / (tp + fn), ppv: tp / (tp + fp), maxErr: Math.max(...scores.map((x) => x.maxErr)) };
}

describe('pan_tompkins@1 on synthetic ECG with known R peaks', () => {
  for (const c of ECG_CASES) {
    it(c.label, () => {
      const s = ecgScore(c);
      expect(s.fn, `${c.label}: missed ${s.fn} of ${s.tp + s.fn}`).toBeLessThanOrEqual(1);
      expect(s.fp, `${c.label}: ${s.fp} false detections`).toBeLessThanOrEqual(1);
    });
  }
  it('overall sensitivity and PPV ≥ 99 %, location within ±2 samples', () => {
    const t = total(ECG_CASES.map(ecgScore));
    expect(t.sens).toBeGreaterThanOrEqual(0.99);
    expect(t.ppv).toBeGreaterThanOrEqual(0.99);
    expect(t.maxErr).toBeLessThanOrEqual(2);
  });

  it('sweep: 3 rhythms × 10 seeds, 50–160 bpm, moderate noise: sensitivity and PPV ≥ 99 %', () => {
    const scores: Score[] = [];
    for (const rhythm of ['sinus', 'af', 'pvc'] as const) {
      for (let seed = 100; seed < 110; seed++) {
        scores.push(
          ecgScore({ label: '', rateHz: 250, hrBpm: 50 + ((seed * 37) % 110), rhythm, seed, ...MODERATE }),
        );
      }
    }
    const t = total(scores);
    expect(t.sens).toBeGreaterThanOrEqual(0.99);
    expect(t.ppv).toBeGreaterThanOrEqual(0.99);
  });

  it('finds nothing in a flat line, noise only or an empty window, and never throws', () => {
    const flat = new Float64Array(7500).fill(0.2);
    expect(indicesOf(applyOp('pan_tompkins@1', {}, [signal(250, flat)]))).toHaveLength(0);
    expect(indicesOf(applyOp('pan_tompkins@1', {}, [signal(250, new Float64Array(0))]))).toHaveLength(0);
    const nan = new Float64Array(7500);
    nan[100] = NaN;
    expect(indicesOf(applyOp('pan_tompkins@1', {}, [signal(250, nan)]))).toHaveLength(0);
  });
});

const PPG_CASES: readonly (Omit<PpgOptions, 'seconds'> & { readonly label: string })[] = [
  {
    label: 'regular 60 bpm @ 64 Hz',
    rateHz: 64,
    hrBpm: 60,
    irregular: false,
    seed: 21,
    noise: 0.05,
    wander: 0.2,
  },
  {
    label: 'regular 75 bpm @ 100 Hz',
    rateHz: 100,
    hrBpm: 75,
    irregular: false,
    seed: 22,
    noise: 0.05,
    wander: 0.2,
  },
  {
    label: 'regular 120 bpm @ 100 Hz',
    rateHz: 100,
    hrBpm: 120,
    irregular: false,
    seed: 23,
    noise: 0.05,
    wander: 0.2,
  },
  {
    label: 'irregular 90 bpm @ 100 Hz',
    rateHz: 100,
    hrBpm: 90,
    irregular: true,
    seed: 24,
    noise: 0.05,
    wander: 0.2,
  },
  {
    label: 'irregular 70 bpm @ 64 Hz',
    rateHz: 64,
    hrBpm: 70,
    irregular: true,
    seed: 25,
    noise: 0.02,
    wander: 0.3,
  },
  {
    label: 'regular 50 bpm @ 125 Hz',
    rateHz: 125,
    hrBpm: 50,
    irregular: false,
    seed: 26,
    noise: 0.05,
    wander: 0.2,
  },
];

function ppgScore(c: (typeof PPG_CASES)[number]): Score {
  const { x, beats } = synthPpg({ ...c, seconds: 30 });
  const det = indicesOf(applyOp('pulse_peaks@1', {}, [signal(c.rateHz, x)]));
  return score(beats, det, x.length, 2, Math.round(0.3 * c.rateHz));
}

describe('pulse_peaks@1 on synthetic PPG with known systolic peaks', () => {
  for (const c of PPG_CASES) {
    it(c.label, () => {
      const s = ppgScore(c);
      expect(s.fn, `${c.label}: missed ${s.fn} of ${s.tp + s.fn}`).toBeLessThanOrEqual(1);
      expect(s.fp, `${c.label}: ${s.fp} false detections`).toBeLessThanOrEqual(1);
    });
  }
  it('sweep: regular and irregular × 8 seeds at 64/100/125 Hz, 45–155 bpm: sensitivity and PPV ≥ 99 %', () => {
    const scores: Score[] = [];
    for (const irregular of [false, true]) {
      for (let seed = 200; seed < 208; seed++) {
        const rateHz = [64, 100, 125][seed % 3] ?? 100;
        scores.push(
          ppgScore({
            label: '',
            rateHz,
            hrBpm: 45 + ((seed * 37) % 110),
            irregular,
            seed,
            noise: 0.05,
            wander: 0.3,
          }),
        );
      }
    }
    const t = total(scores);
    expect(t.sens).toBeGreaterThanOrEqual(0.99);
    expect(t.ppv).toBeGreaterThanOrEqual(0.99);
  });

  it('overall sensitivity and PPV ≥ 99 %, location within ±2 samples', () => {
    const t = total(PPG_CASES.map(ppgScore));
    expect(t.sens).toBeGreaterThanOrEqual(0.99);
    expect(t.ppv).toBeGreaterThanOrEqual(0.99);
    expect(t.maxErr).toBeLessThanOrEqual(2);
  });
});
