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
