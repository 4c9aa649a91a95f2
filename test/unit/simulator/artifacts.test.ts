import { describe, expect, it } from 'vitest';
import type { ArtifactSpec, SimulatorError } from '../../../simulator/index.ts';
import {
  FLAG_LEAD_OFF,
  Rng,
  accelTimeline,
  applyArtifacts,
  cohortParams,
  drawSubject,
  parseArtifactSpec,
} from '../../../simulator/index.ts';
import { mean, sd, zeroCrossingHz } from './helpers.ts';

const RATE = 250;
const N = 10 * RATE;

function zeros(): Float32Array {
  return new Float32Array(N);
}

function sine(freqHz: number, amp = 1): Float32Array {
  return Float32Array.from({ length: N }, (_, i) => amp * Math.sin((2 * Math.PI * freqHz * i) / RATE));
}

function apply(x: Float32Array, specs: ArtifactSpec[], seed = 1) {
  const r = applyArtifacts({ rateHz: RATE, channels: [x] }, specs, Rng.of(seed, 'artifact-test'));
  return { ...r, y: r.channels[0] ?? new Float32Array(0) };
}

describe('artifacts', () => {
  it('adds bounded slow baseline wander', () => {
    const { y, annotations } = apply(zeros(), [{ kind: 'baseline-wander', amplitude: 0.5, freqHz: 0.3 }]);
    const max = Math.max(...y.map(Math.abs));
    expect(max).toBeLessThanOrEqual(0.5 + 1e-6);
    expect(max).toBeGreaterThan(0.25);
    expect(zeroCrossingHz(y, RATE)).toBeLessThan(0.8);
    expect(annotations).toEqual([
      { kind: 'baseline-wander', startSample: 0, endSample: N, params: { amplitude: 0.5, freqHz: 0.3 } },
    ]);
  });

  it('adds mains interference at 50 or 60 Hz', () => {
    for (const freqHz of [50, 60] as const) {
      const { y } = apply(zeros(), [{ kind: 'powerline', amplitude: 0.1, freqHz }]);
      expect(zeroCrossingHz(y, 1000 * RATE) * 1000).toBeGreaterThan(0); // sanity: not flat
      const rms = Math.sqrt(mean(y.map((v) => v * v)));
      expect(rms).toBeGreaterThan(0.06);
      expect(rms).toBeLessThan(0.09);
      // periodic with the mains period (5 samples at 250 Hz for 50 Hz; 25 samples for 60 Hz)
      const period = freqHz === 50 ? 5 : 25;
      let err = 0;
      for (let i = 0; i + period < 500; i++)
        err = Math.max(err, Math.abs((y[i] ?? 0) - (y[i + period] ?? 0)));
      expect(err).toBeLessThan(0.02);
    }
  });

  it('adds Gaussian noise by SD or by SNR', () => {
    const bySd = apply(zeros(), [{ kind: 'gaussian-noise', sd: 0.1 }]).y;
    expect(Math.abs(sd(bySd) - 0.1)).toBeLessThan(0.005);
    const clean = sine(1, 2); // RMS sqrt(2)
    const noisy = apply(clean, [{ kind: 'gaussian-noise', snrDb: 20 }]).y;
    const noise = noisy.map((v, i) => v - (clean[i] ?? 0));
    expect(Math.abs(sd(noise) - Math.SQRT2 / 10)).toBeLessThan(0.01);
  });

  it('couples motion artifacts to accelerometer activity', () => {
    const rng = Rng.of(2);
    const subject = drawSubject(cohortParams('placement=wrist'), rng.fork('s'));
    const accel = accelTimeline({
      rng,
      subject,
      rateHz: 50,
      segments: [
        { kind: 'activity', activity: 'rest', durationS: 5 },
        { kind: 'activity', activity: 'walking', durationS: 5 },
      ],
    });
    const { y, annotations } = apply(zeros(), [{ kind: 'motion', amplitude: 1, accel }]);
    expect(sd(y, 5 * RATE, N)).toBeGreaterThan(5 * sd(y, 0, 4 * RATE));
    const mask = new Uint8Array(N);
    for (const a of annotations) mask.fill(1, a.startSample, a.endSample);
    // annotated: nearly all of the walking, little of the rest (1 s margin for the smoothing window)
    expect(mean(mask, 5 * RATE + RATE, N)).toBeGreaterThan(0.9);
    expect(mean(mask, 0, 4 * RATE)).toBeLessThan(0.3);
  });

  it('adds uncoupled motion bursts where annotated', () => {
    const { y, annotations } = apply(zeros(), [{ kind: 'motion', amplitude: 0.5, burstsPerMin: 30 }]);
    expect(annotations.length).toBeGreaterThan(0);
    const inside = new Uint8Array(N);
    for (const a of annotations) inside.fill(1, a.startSample, a.endSample);
    for (let i = 0; i < N; i++) if (!inside[i]) expect(y[i]).toBe(0);
  });

  it('changes gain from a given time exactly', () => {
    const x = sine(2);
    const { y, annotations } = apply(x, [{ kind: 'gain-change', factor: 2, startS: 4 }]);
    for (let i = 0; i < N; i++) expect(y[i]).toBe(i < 4 * RATE ? x[i] : 2 * (x[i] ?? 0));
    expect(annotations[0]).toMatchObject({ startSample: 4 * RATE, endSample: N, params: { factor: 2 } });
  });

  it('clips at the rails (2/3 of a unit sine clipped at +-0.5)', () => {
    const { y, annotations } = apply(sine(2), [{ kind: 'clipping', min: -0.5, max: 0.5 }]);
    expect(Math.max(...y)).toBe(0.5);
    expect(Math.min(...y)).toBe(-0.5);
    const clipped = y.filter((v) => Math.abs(v) === 0.5).length / N;
    expect(Math.abs(clipped - 2 / 3)).toBeLessThan(0.02);
    const annotated = annotations.reduce((s, a) => s + a.endSample - a.startSample, 0) / N;
    expect(Math.abs(annotated - clipped)).toBeLessThan(0.005);
  });

  it('drops samples as NaN with a matching mask and annotations', () => {
    const { y, missing, annotations } = apply(sine(1), [{ kind: 'dropout', perMin: 30, meanDurationS: 0.2 }]);
    const nan = y.filter(Number.isNaN).length;
    expect(nan).toBeGreaterThan(0);
    expect(missing.reduce((s, v) => s + v, 0)).toBe(nan);
    for (let i = 0; i < N; i++) expect(Number.isNaN(y[i]) ? 1 : 0).toBe(missing[i]);
    const ann = new Uint8Array(N);
    for (const a of annotations) ann.fill(1, a.startSample, a.endSample);
    expect(Array.from(ann)).toEqual(Array.from(missing));
    const span = apply(sine(1), [{ kind: 'dropout', startS: 2, endS: 3 }]);
    expect(span.y.filter(Number.isNaN).length).toBe(RATE);
  });

  it('marks lead-off with the sensor flag and flatlines without one', () => {
    const lead = apply(sine(1), [{ kind: 'lead-off', startS: 2, endS: 4 }]);
    for (let i = 0; i < N; i++) {
      const on = i >= 2 * RATE && i < 4 * RATE;
      expect((lead.flags[i] ?? 0) & FLAG_LEAD_OFF).toBe(on ? 1 : 0);
      if (on) expect(lead.y[i]).toBe(0);
    }
    const flat = apply(sine(1), [{ kind: 'flatline', startS: 5, endS: 6 }]);
    expect(flat.flags.every((f) => f === 0)).toBe(true);
    expect(new Set(flat.y.slice(5 * RATE, 6 * RATE)).size).toBe(1);
    expect(flat.y[5 * RATE]).toBe(flat.y[5 * RATE - 1]);
  });

  it('simulates a clock running fast while declaring the nominal rate', () => {
    const x = sine(5);
    const { y } = apply(x, [{ kind: 'rate-mismatch', epsilon: 0.05 }]);
    expect(y.length).toBe(N);
    const apparent = zeroCrossingHz(y, RATE);
    expect(apparent).toBeCloseTo(5 / 1.05, 1);
  });

  it('applies artifacts in physical order: noise before clipping, whatever the given order', () => {
    const { y } = apply(sine(1), [
      { kind: 'clipping', min: -0.8, max: 0.8 },
      { kind: 'gaussian-noise', sd: 0.3 },
    ]);
    expect(Math.max(...y)).toBe(Math.fround(0.8));
    expect(Math.min(...y)).toBe(Math.fround(-0.8));
  });

  it('keeps the noise of one artifact unchanged when another kind is added', () => {
    const a = apply(sine(1), [{ kind: 'gaussian-noise', sd: 0.1 }]).y;
    const b = apply(sine(1), [
      { kind: 'lead-off', startS: 9, endS: 10 },
      { kind: 'gaussian-noise', sd: 0.1 },
    ]).y;
    expect(Array.from(b.slice(0, 9 * RATE))).toEqual(Array.from(a.slice(0, 9 * RATE)));
  });

  it('applies the same dropouts to every channel', () => {
    const r = applyArtifacts(
      { rateHz: RATE, channels: [sine(1), sine(2), sine(3)] },
      [{ kind: 'dropout', perMin: 20 }],
      Rng.of(4),
    );
    for (let i = 0; i < N; i++) {
      const nan = r.channels.map((c) => Number.isNaN(c[i]));
      expect(new Set(nan).size).toBe(1);
    }
  });

  it('parses the CLI form and rejects bad specs with BAD_ARTIFACT', () => {
    expect(parseArtifactSpec('powerline:amplitude=0.1,freqHz=60')).toEqual({
      kind: 'powerline',
      amplitude: 0.1,
      freqHz: 60,
    });
    expect(parseArtifactSpec('noise:snrDb=15')).toEqual({ kind: 'gaussian-noise', snrDb: 15 });
    expect(parseArtifactSpec('clipping:limit=2')).toEqual({ kind: 'clipping', min: -2, max: 2 });
    expect(parseArtifactSpec('lead-off:startS=1,endS=2')).toEqual({ kind: 'lead-off', startS: 1, endS: 2 });
    expect(parseArtifactSpec('rate-mismatch:epsilon=0.01')).toEqual({ kind: 'rate-mismatch', epsilon: 0.01 });
    expect(parseArtifactSpec('dropout')).toEqual({ kind: 'dropout' });
    for (const bad of [
      'bogus',
      'powerline:freqHz=55',
      'noise:sd=abc',
      'noise:sd=1,sd=2',
      'noise:color=1',
      'clipping',
      'clipping:min=1,max=-1',
      'rate-mismatch:epsilon=0.5',
      'gain-change:factor',
      'lead-off:startS=3,endS=1',
    ]) {
      let code: string | undefined;
      try {
        const spec = parseArtifactSpec(bad);
        apply(zeros(), [spec]);
      } catch (err) {
        code = (err as SimulatorError).code;
      }
      expect(code, bad).toBe('BAD_ARTIFACT');
    }
  });
});
