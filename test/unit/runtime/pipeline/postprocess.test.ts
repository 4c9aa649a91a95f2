import { describe, expect, it } from 'vitest';
import { decide, initialPostprocessState } from '../../../../runtime/pipeline/postprocess.ts';

const thresholds = { version: 't1', operatingThreshold: 0.6, releaseThreshold: 0.4, indeterminateLow: 0.5 };
const rules = { version: 'p1', consecutiveWindows: 2, refractoryMs: 10_000 };

describe('decide', () => {
  it('applies hysteresis, the indeterminate band, consecutive windows and the refractory period', () => {
    const state = initialPostprocessState();
    const run = (score: number, t: number) => decide(score, t, thresholds, rules, state);
    expect(run(0.2, 1000)).toEqual({ kind: 'decided', positive: false, alert: false });
    expect(run(0.55, 2000)).toEqual({ kind: 'indeterminate' });
    expect(run(0.7, 3000)).toEqual({ kind: 'decided', positive: true, alert: false });
    expect(run(0.45, 4000)).toEqual({ kind: 'decided', positive: true, alert: true }); // above release
    expect(run(0.3, 5000)).toEqual({ kind: 'decided', positive: false, alert: false });
    expect(run(0.9, 6000)).toEqual({ kind: 'decided', positive: true, alert: false });
    expect(run(0.9, 7000)).toEqual({ kind: 'decided', positive: true, alert: false }); // refractory
    expect(run(0.1, 20_000)).toEqual({ kind: 'decided', positive: false, alert: false });
    expect(run(0.9, 21_000).kind).toBe('decided');
    expect(run(0.9, 22_000)).toEqual({ kind: 'decided', positive: true, alert: true });
  });
});

describe('decide: alerts', () => {
  it('raises one alert per run of positives, not one per window', () => {
    const state = initialPostprocessState();
    const run = (score: number, t: number) =>
      decide(score, t, thresholds, { ...rules, refractoryMs: 0 }, state);
    const alerts = [0.9, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9].map(
      (s, i) => (run(s, i * 1000) as { alert: boolean }).alert,
    );
    expect(alerts).toEqual([false, true, false, false, false, false, true]);
  });

  it('alerts a run that began inside the refractory period once the period is over', () => {
    const state = initialPostprocessState();
    const run = (score: number, t: number) => decide(score, t, thresholds, rules, state);
    expect(run(0.9, 0)).toMatchObject({ alert: false });
    expect(run(0.9, 1000)).toMatchObject({ alert: true });
    expect(run(0.1, 2000)).toMatchObject({ positive: false });
    expect(run(0.9, 3000)).toMatchObject({ alert: false });
    expect(run(0.9, 4000)).toMatchObject({ alert: false }); // refractory until 11 000
    expect(run(0.9, 11_000)).toMatchObject({ alert: true });
    expect(run(0.9, 12_000)).toMatchObject({ alert: false });
  });

  it('treats an indeterminate window as breaking the run', () => {
    const state = initialPostprocessState();
    const run = (score: number, t: number) =>
      decide(score, t, thresholds, { ...rules, refractoryMs: 0 }, state);
    run(0.9, 0);
    run(0.1, 1000);
    run(0.9, 2000);
    expect(run(0.55, 3000)).toMatchObject({ kind: 'decided', positive: true }); // hysteresis holds
    const fresh = initialPostprocessState();
    decide(0.9, 0, thresholds, rules, fresh);
    expect(decide(0.1, 1000, thresholds, rules, fresh)).toMatchObject({ positive: false });
    expect(decide(0.55, 2000, thresholds, rules, fresh)).toEqual({ kind: 'indeterminate' });
    expect(decide(0.9, 3000, thresholds, rules, fresh)).toMatchObject({ alert: false });
  });
});
