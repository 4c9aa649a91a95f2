// The RR features exist to feed an AF screener: on synthetic ECG (30 s, 75 bpm, moderate noise)
// the measures robust to isolated ectopy must put AF clearly apart from sinus rhythm with
// frequent PVCs, even though RMSSD/nRMSSD alone cannot (both are high with ectopy).
import { describe, expect, it } from 'vitest';
import { compilePreprocessing } from '../../../../models/ops/index.ts';
import { featuresOf, signal } from './helpers.ts';
import { AF_ECG_INPUT, AF_ECG_STEPS } from './plans.ts';
import { synthEcg } from './synthetic.ts';
import type { Rhythm } from './synthetic.ts';

const plan = compilePreprocessing(AF_ECG_STEPS, AF_ECG_INPUT, 'features');
const features = (rhythm: Rhythm, seed: number): Record<string, number> =>
  featuresOf(
    plan.run(
      signal(
        250,
        synthEcg({
          rateHz: 250,
          seconds: 30,
          hrBpm: 75,
          rhythm,
          seed,
          noiseMv: 0.05,
          wanderMv: 0.3,
          mainsMv: 0.05,
        }).x,
      ),
    ),
  );
const range = (rhythm: Rhythm, name: string): [number, number] => {
  const v = [1, 2, 3, 4, 5].map((s) => features(rhythm, s)[name] ?? NaN);
  return [Math.min(...v), Math.max(...v)];
};

describe('rr_features separate AF from sinus rhythm with ectopy', () => {
  it('ectopy inflates RMSSD about as much as AF does', () => {
    const [pvcLo] = range('pvc', 'rr_nrmssd');
    const [, afHi] = range('af', 'rr_nrmssd');
    expect(pvcLo).toBeGreaterThan(0.5 * afHi);
  });
  for (const name of ['rr_madsd_norm', 'rr_hist_entropy_bits', 'rr_pnn50']) {
    it(`${name}: every AF window above every sinus and every PVC window`, () => {
      const [, sinusHi] = range('sinus', name);
      const [, pvcHi] = range('pvc', name);
      const [afLo] = range('af', name);
      expect(afLo).toBeGreaterThan(Math.max(sinusHi, pvcHi));
    });
  }
  it('rr_sampen: AF above ectopy (ectopic patterns repeat); sinus RSA is not separated by it', () => {
    const [, pvcHi] = range('pvc', 'rr_sampen');
    const [afLo] = range('af', 'rr_sampen');
    expect(afLo).toBeGreaterThan(pvcHi);
  });
});
