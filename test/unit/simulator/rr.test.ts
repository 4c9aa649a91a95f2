import { describe, expect, it } from 'vitest';
import type { RrOptions } from '../../../simulator/index.ts';
import { Rng, SimulatorError, beatsWithin, generateRr } from '../../../simulator/index.ts';
import { mean, rmssd, sd } from './helpers.ts';

const HRV = { meanHrBpm: 66, sdnnMs: 50, lfHfRatio: 1.5, respRateHz: 0.25 };

function turningPointRatio(a: ArrayLike<number>): number {
  let tp = 0;
  for (let i = 1; i < a.length - 1; i++) {
    const p = a[i - 1] ?? 0;
    const c = a[i] ?? 0;
    const n = a[i + 1] ?? 0;
    if ((c > p && c > n) || (c < p && c < n)) tp++;
  }
  return tp / (a.length - 2);
}

function rr(seed: number, opts: Partial<RrOptions> = {}) {
  const s = generateRr(Rng.of(seed, 'rr-test'), { seconds: 300, hrv: HRV, ...opts });
  return { series: s, ...beatsWithin(s, 0, s.seconds) };
}

describe('RR intervals', () => {
  it('gives sinus rhythm with the requested mean rate and a plausible SDNN', () => {
    for (let seed = 0; seed < 5; seed++) {
      const { rrMs, kinds } = rr(seed);
      expect(kinds.every((k) => k === 'N')).toBe(true);
      expect(Math.abs(60_000 / mean(rrMs) - HRV.meanHrBpm)).toBeLessThan(3);
      const sdnn = sd(rrMs);
      expect(sdnn).toBeGreaterThan(30);
      expect(sdnn).toBeLessThan(75);
      // smooth modulation: successive differences small relative to the interval
      expect(rmssd(rrMs) / mean(rrMs)).toBeLessThan(0.06);
    }
  });

  it('carries respiratory sinus arrhythmia at the respiration rate', () => {
    const { timesS, rrMs, series } = rr(11, { hrv: { ...HRV, lfHfRatio: 0.2 } });
    // RR is shorter during inspiration (respiration > 0): negative correlation with the exported
    // signal taken where each interval starts.
    const resp = Array.from(timesS, (t, k) => {
      const start = t - (rrMs[k] ?? 0) / 1000;
      return Math.sin(2 * Math.PI * series.respiration.rateHz * start + series.respiration.phase);
    });
    const mr = mean(rrMs);
    let c = 0;
    for (let i = 0; i < rrMs.length; i++) c += ((rrMs[i] ?? 0) - mr) * (resp[i] ?? 0);
    expect(c / rrMs.length / sd(rrMs) / sd(resp)).toBeLessThan(-0.35);
  });

  it('makes AF faster and irregularly irregular', () => {
    const sinus = rr(3);
    const af = rr(3, {
      rhythm: [{ rhythm: 'af', startS: -10, endS: 400 }],
      af: { meanHrBpm: 110, rrCv: 0.2 },
    });
    expect(af.kinds.every((k) => k === 'AF')).toBe(true);
    expect(60_000 / mean(af.rrMs)).toBeGreaterThan(95);
    const irrSinus = rmssd(sinus.rrMs) / mean(sinus.rrMs);
    const irrAf = rmssd(af.rrMs) / mean(af.rrMs);
    expect(irrAf).toBeGreaterThan(0.15);
    expect(irrAf).toBeGreaterThan(5 * irrSinus);
    // no autocorrelation: turning-point ratio near 2/3 (random), sinus far below
    expect(Math.abs(turningPointRatio(af.rrMs) - 2 / 3)).toBeLessThan(0.06);
    expect(turningPointRatio(sinus.rrMs)).toBeLessThan(0.5);
  });

  it('inserts PACs and PVCs at the requested rates with their pauses', () => {
    const { kinds, rrMs } = rr(4, { ectopy: { pacPerMin: 4, pvcPerMin: 4 } });
    const pac = kinds.filter((k) => k === 'PAC').length;
    const pvc = kinds.filter((k) => k === 'PVC').length;
    expect(pac).toBeGreaterThan(8);
    expect(pac).toBeLessThan(35);
    expect(pvc).toBeGreaterThan(8);
    expect(pvc).toBeLessThan(35);
    const ratio: Record<'PAC' | 'PVC', number[]> = { PAC: [], PVC: [] };
    for (let i = 1; i < kinds.length - 1; i++) {
      const kind = kinds[i];
      if (kind !== 'PVC' && kind !== 'PAC') continue;
      const before = rrMs[i - 1] ?? 0;
      const coupling = rrMs[i] ?? 0;
      const pause = rrMs[i + 1] ?? 0;
      expect(coupling).toBeLessThan(0.85 * before);
      expect(pause).toBeGreaterThan(coupling);
      if (kinds[i - 1] === 'N' && kinds[i - 2] === 'N') ratio[kind].push((coupling + pause) / before);
    }
    // PVC: full compensatory pause (coupling + pause ~ two sinus intervals); PAC resets the node.
    expect(Math.abs(mean(ratio.PVC) - 2)).toBeLessThan(0.1);
    expect(mean(ratio.PAC)).toBeLessThan(mean(ratio.PVC) - 0.05);
  });

  it('follows rhythm segments and raises the rate during exertion', () => {
    const s = generateRr(Rng.of(5), {
      seconds: 120,
      hrv: HRV,
      rhythm: [{ rhythm: 'af', startS: 40, endS: 80 }],
      exertion: [{ startS: 0, endS: 30, deltaBpm: 40 }],
    });
    expect(s.rhythm).toEqual([
      { rhythm: 'sinus', startS: 0, endS: 40 },
      { rhythm: 'af', startS: 40, endS: 80 },
      { rhythm: 'sinus', startS: 80, endS: 120 },
    ]);
    for (let k = 0; k < s.beatTimesS.length; k++) {
      const t = s.beatTimesS[k] ?? 0;
      const prev = s.beatTimesS[k - 1] ?? -Infinity;
      // a beat is AF when the interval that produced it started inside the AF segment
      if (prev >= 40.5 && t < 79.5) expect(s.kinds[k]).toBe('AF');
      if (prev >= 81) expect(s.kinds[k]).toBe('N');
    }
    const early = beatsWithin(s, 20, 30).rrMs;
    const late = beatsWithin(s, 100, 120).rrMs;
    expect(60_000 / mean(early)).toBeGreaterThan(60_000 / mean(late) + 20);
    // beat times and intervals agree
    for (let k = 1; k < s.beatTimesS.length; k++) {
      expect(((s.beatTimesS[k] ?? 0) - (s.beatTimesS[k - 1] ?? 0)) * 1000).toBeCloseTo(s.rrMs[k] ?? 0, 6);
    }
  });

  it('rejects bad parameters with BAD_ARGUMENT', () => {
    const bad = [
      { seconds: 0, hrv: HRV },
      { seconds: 10, hrv: { ...HRV, meanHrBpm: 500 } },
      { seconds: 10, hrv: HRV, rhythm: [{ rhythm: 'af' as const, startS: 5, endS: 2 }] },
      {
        seconds: 10,
        hrv: HRV,
        rhythm: [
          { rhythm: 'af' as const, startS: 0, endS: 5 },
          { rhythm: 'af' as const, startS: 4, endS: 8 },
        ],
      },
    ];
    for (const opts of bad) {
      try {
        generateRr(Rng.of(1), opts);
        expect.unreachable();
      } catch (err) {
        expect((err as SimulatorError).code).toBe('BAD_ARGUMENT');
      }
    }
  });
});
