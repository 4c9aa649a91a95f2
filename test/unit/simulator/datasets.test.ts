import { describe, expect, it } from 'vitest';
import type { AfWindow, FallWindow } from '../../../simulator/index.ts';
import { afWindows, fallWindows } from '../../../simulator/index.ts';
import { magnitude, mean, rmssd, sha256 } from './helpers.ts';

function fallHash(w: FallWindow): string {
  return sha256(w.id, w.cohort, w.kind, String(w.label), w.x, w.y, w.z);
}

function afHash(w: AfWindow): string {
  return sha256(w.id, w.cohort, w.kind, String(w.label), w.samples);
}

describe('fallWindows', () => {
  const windows = fallWindows({ seed: 11, count: 400 });

  it('returns labelled 4 s windows at 50 Hz with the requested balance', () => {
    expect(windows).toHaveLength(400);
    for (const w of windows) {
      expect(w.x.length).toBe(200);
      expect(w.y.length).toBe(200);
      expect(w.z.length).toBe(200);
      expect(w.label).toBe(w.kind.startsWith('fall-') ? 1 : 0);
      expect(w.cohort).toMatch(/^age=.+;activity=.+;placement=.+$/);
    }
    const pos = windows.filter((w) => w.label === 1).length;
    expect(Math.abs(pos - 200)).toBeLessThanOrEqual(3);
    const tenth = fallWindows({ seed: 11, count: 400, positiveFraction: 0.1 }).filter(
      (w) => w.label === 1,
    ).length;
    expect(Math.abs(tenth - 40)).toBeLessThanOrEqual(3);
  });

  it('places each fall impact so that 1.0-2.5 s of post-impact data is in the window', () => {
    const offsets: number[] = [];
    for (const w of windows.filter((x) => x.label === 1)) {
      const post = (200 - w.impactSample) / 50;
      expect(post).toBeGreaterThanOrEqual(1.0);
      expect(post).toBeLessThanOrEqual(2.5 + 1e-9);
      offsets.push(post);
      const mag = magnitude(w.x, w.y, w.z);
      expect(mag[w.impactSample]).toBeGreaterThan(3);
      expect(Math.min(...mag.slice(w.impactSample - 40, w.impactSample))).toBeLessThan(0.6);
    }
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeGreaterThan(1.2);
  });

  it('covers all ADLs and makes near-falls about a quarter of the negatives', () => {
    const neg = windows.filter((w) => w.label === 0);
    const kinds = new Set(neg.map((w) => w.kind));
    for (const k of ['rest', 'walking', 'running', 'sit-down', 'stand-up', 'lie-down', 'sit-hard', 'drop']) {
      expect(kinds.has(k as FallWindow['kind']), k).toBe(true);
    }
    const near = neg.filter((w) => w.kind === 'sit-hard' || w.kind === 'drop').length / neg.length;
    expect(near).toBeGreaterThan(0.17);
    expect(near).toBeLessThan(0.33);
    const dirs = new Set(windows.filter((w) => w.label === 1).map((w) => w.kind));
    expect(dirs).toEqual(new Set(['fall-forward', 'fall-backward', 'fall-lateral']));
    for (const w of neg)
      if (w.kind === 'sit-hard' || w.kind === 'drop') expect(w.impactSample).toBeGreaterThan(0);
  });

  it('keeps example i identical whatever the count, and slices by startIndex', () => {
    const ten = fallWindows({ seed: 11, count: 10 });
    expect(ten.map(fallHash)).toEqual(windows.slice(0, 10).map(fallHash));
    const slice = fallWindows({ seed: 11, count: 5, startIndex: 100 });
    expect(slice.map(fallHash)).toEqual(windows.slice(100, 105).map(fallHash));
    expect(new Set(windows.map((w) => w.id)).size).toBe(400);
    const other = fallWindows({ seed: 12, count: 10 });
    expect(other.map(fallHash)).not.toEqual(ten.map(fallHash));
  });

  it('draws cohorts from the given list', () => {
    const only = fallWindows({ seed: 1, count: 20, cohorts: ['age=65+;activity=sedentary;placement=hip'] });
    expect(new Set(only.map((w) => w.cohort))).toEqual(new Set(['age=65+;activity=sedentary;placement=hip']));
  });
});

describe('afWindows', () => {
  const ecg = afWindows({ seed: 5, count: 60, source: 'ecg' });

  it('returns 30 s ECG windows with sinus, AF and ectopy confounders', () => {
    expect(ecg).toHaveLength(60);
    for (const w of ecg) {
      expect(w.rateHz).toBe(250);
      expect(w.samples.length).toBe(30 * 250);
      expect(w.label).toBe(w.kind === 'af' ? 1 : 0);
      expect(w.samples.every(Number.isFinite)).toBe(true);
    }
    expect(Math.abs(ecg.filter((w) => w.label === 1).length - 30)).toBeLessThanOrEqual(3);
    expect(ecg.some((w) => w.kind === 'sinus+ectopy')).toBe(true);
  });

  it('has labels that are the generator truth (AF beats irregular, sinus regular)', () => {
    const irregularity = (w: AfWindow): number => {
      const rr: number[] = [];
      for (let k = 1; k < w.beatTimesS.length; k++)
        rr.push((w.beatTimesS[k] ?? 0) - (w.beatTimesS[k - 1] ?? 0));
      return rmssd(rr) / mean(rr);
    };
    const af = ecg.filter((w) => w.kind === 'af').map(irregularity);
    const sinus = ecg.filter((w) => w.kind === 'sinus').map(irregularity);
    expect(Math.min(...af)).toBeGreaterThan(Math.max(...sinus));
  });

  it('makes about 20% of negatives ectopic', () => {
    const neg = afWindows({ seed: 6, count: 300, source: 'ppg' }).filter((w) => w.label === 0);
    const share = neg.filter((w) => w.kind === 'sinus+ectopy').length / neg.length;
    expect(share).toBeGreaterThan(0.12);
    expect(share).toBeLessThan(0.28);
  });

  it('supports PPG at 64 Hz by default and keeps ids stable across counts', () => {
    const ppg = afWindows({ seed: 5, count: 8, source: 'ppg' });
    expect(ppg[0]?.rateHz).toBe(64);
    expect(ppg[0]?.samples.length).toBe(30 * 64);
    expect(afWindows({ seed: 5, count: 3, source: 'ecg' }).map(afHash)).toEqual(ecg.slice(0, 3).map(afHash));
    expect(ppg[0]?.id).toBe('af-ppg-000000');
  });

  it('rejects bad options', () => {
    expect(() => afWindows({ seed: 1, count: -1, source: 'ecg' })).toThrow(/count/);
    expect(() => afWindows({ seed: 1, count: 1, source: 'eeg' as 'ecg' })).toThrow(/source/);
    expect(() => fallWindows({ seed: 1, count: 1, windowS: 1 })).toThrow(/windowS/);
  });
});
