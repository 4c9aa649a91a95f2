import { describe, expect, it } from 'vitest';
import type { RrOptions, RrSeries } from '../../../simulator/index.ts';
import { Rng, beatsWithin, generateRr, synthEcg, synthPpg } from '../../../simulator/index.ts';
import { argMax, mean, sd, zeroCrossingHz } from './helpers.ts';

const HRV = { meanHrBpm: 64, sdnnMs: 40, lfHfRatio: 1.5, respRateHz: 0.25 };
const ECG_RATE = 250;

function series(seed: number, opts: Partial<RrOptions> = {}): RrSeries {
  return generateRr(Rng.of(seed, 'wave-test'), { seconds: 60, hrv: HRV, ...opts });
}

/** Ensemble average of x around each beat over [beat + fromS, beat + toS). */
function ensemble(
  x: Float32Array,
  rate: number,
  beats: Float64Array,
  fromS: number,
  toS: number,
): Float64Array {
  const len = Math.round((toS - fromS) * rate);
  const acc = new Float64Array(len);
  let n = 0;
  for (const t of beats) {
    const a = Math.round((t + fromS) * rate);
    if (a < 0 || a + len > x.length) continue;
    for (let i = 0; i < len; i++) acc[i] = (acc[i] ?? 0) + (x[a + i] ?? 0);
    n++;
  }
  return acc.map((v) => v / n);
}

describe('ECG (ECGSYN)', () => {
  it('puts R peaks of about 1 mV on the beat times, within 2 samples at 250 Hz', () => {
    const rr = series(1);
    const ecg = synthEcg(rr, { seconds: 60, rAmplitudeMv: 1 }, Rng.of(1, 'ecg'));
    expect(ecg.length).toBe(60 * ECG_RATE);
    const beats = beatsWithin(rr, 0.5, 59.5);
    expect(beats.timesS.length).toBeGreaterThan(55);
    for (const t of beats.timesS) {
      const c = Math.round(t * ECG_RATE);
      const peak = argMax(ecg, c - 25, c + 25);
      expect(Math.abs(peak - c)).toBeLessThanOrEqual(2);
      expect(ecg[peak]).toBeGreaterThan(0.8);
      expect(ecg[peak]).toBeLessThan(1.2);
    }
    // the isoelectric line sits near 0 mV (median of the signal)
    const sorted = Array.from(ecg).sort((a, b) => a - b);
    expect(Math.abs(sorted[sorted.length >> 1] ?? 1)).toBeLessThan(0.1);
  });

  it('has P, Q, S and T waves in their places', () => {
    const rr = series(2);
    const ecg = synthEcg(rr, { seconds: 60, rAmplitudeMv: 1, respBaselineMv: 0 }, Rng.of(2));
    const avg = ensemble(ecg, ECG_RATE, beatsWithin(rr, 1, 59).timesS, -0.4, 0.6);
    const at = (s: number): number => Math.round((s + 0.4) * ECG_RATE);
    const p = Math.max(...avg.slice(at(-0.3), at(-0.1)));
    const q = Math.min(...avg.slice(at(-0.08), at(-0.01)));
    const s = Math.min(...avg.slice(at(0.01), at(0.08)));
    const t = Math.max(...avg.slice(at(0.15), at(0.45)));
    expect(p).toBeGreaterThan(0.1);
    expect(p).toBeLessThan(0.4);
    expect(q).toBeLessThan(-0.05);
    expect(s).toBeLessThan(-0.1);
    expect(t).toBeGreaterThan(0.2);
    expect(t).toBeLessThan(0.6);
  });

  it('drops P waves and adds 4-9 Hz f-waves in AF', () => {
    const af = series(3, { rhythm: [{ rhythm: 'af', startS: -5, endS: 70 }] });
    const ecg = synthEcg(af, { seconds: 60, rAmplitudeMv: 1, respBaselineMv: 0, fWaveMv: [0, 0] }, Rng.of(3));
    const avg = ensemble(ecg, ECG_RATE, beatsWithin(af, 1, 59).timesS, -0.25, -0.1);
    expect(Math.max(...avg)).toBeLessThan(0.08);
    const withF = synthEcg(af, { seconds: 60, rAmplitudeMv: 1, respBaselineMv: 0 }, Rng.of(3));
    const f = withF.map((v, i) => v - (ecg[i] ?? 0));
    const hz = zeroCrossingHz(f.slice(2 * ECG_RATE, 58 * ECG_RATE), ECG_RATE);
    expect(hz).toBeGreaterThan(3.5);
    expect(hz).toBeLessThan(9.5);
    expect(sd(f)).toBeGreaterThan(0.01);
    expect(sd(f)).toBeLessThan(0.1);
  });

  it('draws PVCs wide and tall with an inverted T', () => {
    const rr = series(4, { ectopy: { pacPerMin: 0, pvcPerMin: 6 } });
    const ecg = synthEcg(rr, { seconds: 60, rAmplitudeMv: 1, respBaselineMv: 0 }, Rng.of(4));
    const b = beatsWithin(rr, 1, 59);
    const pvcs = b.timesS.filter((_, k) => b.kinds[k] === 'PVC');
    const normal = b.timesS.filter((_, k) => b.kinds[k] === 'N');
    expect(pvcs.length).toBeGreaterThan(1);
    const width = (avg: Float64Array): number => avg.filter((v) => v > 0.5 * Math.max(...avg)).length;
    const pvcAvg = ensemble(ecg, ECG_RATE, pvcs, -0.1, 0.1);
    const nAvg = ensemble(ecg, ECG_RATE, normal, -0.1, 0.1);
    expect(width(pvcAvg)).toBeGreaterThan(1.5 * width(nAvg));
    expect(Math.max(...pvcAvg)).toBeGreaterThan(1.2 * Math.max(...nAvg));
    expect(Math.min(...ensemble(ecg, ECG_RATE, pvcs, 0.15, 0.35))).toBeLessThan(-0.2);
  });

  it('scales with the requested R amplitude and sampling rate', () => {
    const rr = series(5);
    const a = synthEcg(rr, { seconds: 20, rAmplitudeMv: 2, rateHz: 500 }, Rng.of(5));
    expect(a.length).toBe(20 * 500);
    expect(Math.max(...a)).toBeGreaterThan(1.7);
    expect(Math.max(...a)).toBeLessThan(2.4);
  });
});

describe('PPG', () => {
  it('follows each beat with the pulse arrival delay', () => {
    const rr = series(6);
    const ppg = synthPpg(rr, { seconds: 60, pttS: 0.25 }, Rng.of(6));
    expect(ppg.rateHz).toBe(64);
    expect(ppg.samples.length).toBe(60 * 64);
    const b = beatsWithin(rr, 1, 58);
    for (const t of b.timesS) {
      const from = Math.round(t * 64);
      const peak = argMax(ppg.samples, from, from + Math.round(0.6 * 64));
      const delay = peak / 64 - t;
      // foot at R + 0.25 s, systolic peak ~0.09 s later
      expect(delay).toBeGreaterThan(0.27);
      expect(delay).toBeLessThan(0.42);
    }
    for (let k = 0; k < rr.beatTimesS.length; k++) {
      expect((ppg.pulseFootS[k] ?? 0) - (rr.beatTimesS[k] ?? 0)).toBeCloseTo(0.25, 1);
    }
  });

  it('gives weak pulses after premature beats (pulse deficit)', () => {
    const rr = series(7, { ectopy: { pacPerMin: 0, pvcPerMin: 8 } });
    const ppg = synthPpg(rr, { seconds: 60 }, Rng.of(7));
    const amp = (k: number): number => {
      const i = Math.round((ppg.systolicPeakS[k] ?? 0) * 64);
      return ppg.samples[i] ?? 0;
    };
    const pvc: number[] = [];
    const normal: number[] = [];
    for (let k = 0; k < rr.beatTimesS.length; k++) {
      const t = rr.beatTimesS[k] ?? 0;
      if (t < 1 || t > 58) continue;
      (rr.kinds[k] === 'PVC' ? pvc : normal).push(amp(k));
    }
    expect(pvc.length).toBeGreaterThan(1);
    expect(mean(pvc)).toBeLessThan(0.6 * mean(normal));
  });
});
