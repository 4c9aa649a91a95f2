// Run time of the documented plans per window, in µs (plain figures; the pipeline benchmark owns
// the ratios). Shaped like a bench module (`name`, `run`) so bench/ can re-export it:
//   node --import tsx test/unit/models/ops/timing.ts
import { compilePreprocessing, sqiSteps } from '../../../../models/ops/index.ts';
import type { CompiledPlan, OpValue } from '../../../../models/ops/index.ts';
import { AF_ECG_INPUT, AF_ECG_STEPS, AF_PPG_INPUT, AF_PPG_STEPS, FALL_INPUT, FALL_STEPS } from './plans.ts';
import { Rng, synthEcg, synthPpg } from './synthetic.ts';

export interface TimingFigure {
  readonly bench: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: string;
  readonly goal: string;
}

/** Median over `batches` of the mean µs per run, after a warm-up. */
function usPerWindow(
  plan: CompiledPlan,
  windows: readonly OpValue[],
  batches: number,
  perBatch: number,
): number {
  for (let i = 0; i < perBatch; i++) plan.run(windows[i % windows.length] as OpValue);
  const times: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) plan.run(windows[i % windows.length] as OpValue);
    times.push(Number(process.hrtime.bigint() - t0) / 1000 / perBatch);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? NaN;
}

function accelWindows(count: number): OpValue[] {
  const rng = new Rng(7);
  return Array.from({ length: count }, () => {
    const ch = [0, 1, 2].map((axis) =>
      Float64Array.from(
        { length: 200 },
        (_, i) => (axis === 2 ? 1 : 0) + 0.3 * Math.sin(i / 5 + axis) + 0.05 * rng.normal(),
      ),
    );
    return { kind: 'signal', rateHz: 50, channels: ch };
  });
}

export const name = 'ops';

export function run(log: (line: string) => void): Promise<readonly TimingFigure[]> {
  const fall = compilePreprocessing(FALL_STEPS, FALL_INPUT, 'features');
  const afEcg = compilePreprocessing(AF_ECG_STEPS, AF_ECG_INPUT, 'features');
  const afPpg = compilePreprocessing(AF_PPG_STEPS, AF_PPG_INPUT, 'features');
  const ecg = [0, 1, 2, 3].map((k): OpValue => {
    const s = synthEcg({
      rateHz: 250,
      seconds: 30,
      hrBpm: 60 + 25 * k,
      rhythm: k % 2 === 0 ? 'sinus' : 'af',
      seed: 50 + k,
      noiseMv: 0.05,
      wanderMv: 0.3,
      mainsMv: 0.05,
    });
    return { kind: 'signal', rateHz: 250, channels: [s.x] };
  });
  const ppg = [0, 1].map((k): OpValue => {
    const s = synthPpg({
      rateHz: 64,
      seconds: 30,
      hrBpm: 70 + 20 * k,
      irregular: k === 1,
      seed: 60 + k,
      noise: 0.05,
      wander: 0.2,
    });
    return { kind: 'signal', rateHz: 64, channels: [s.x] };
  });
  const fallUs = usPerWindow(fall, accelWindows(16), 15, 2000);
  const ecgUs = usPerWindow(afEcg, ecg, 9, 40);
  const ppgUs = usPerWindow(afPpg, ppg, 9, 100);
  const ecgSqi = compilePreprocessing(
    sqiSteps(['ecg_psqi', 'ecg_kurtosis', 'ecg_bassqi']),
    AF_ECG_INPUT,
    'sqi',
  );
  const ppgSqi = compilePreprocessing(sqiSteps(['ppg_template_sqi']), AF_PPG_INPUT, 'sqi');
  const ecgSqiUs = usPerWindow(ecgSqi, ecg, 9, 40);
  const ppgSqiUs = usPerWindow(ppgSqi, ppg, 9, 100);
  log(`fall plan (3×200 samples → 16 features): ${fallUs.toFixed(1)} µs/window`);
  log(
    `AF plan, ECG (30 s at 250 Hz → band-pass → Pan–Tompkins → RR → 12 features): ${ecgUs.toFixed(1)} µs/window`,
  );
  log(`AF plan, PPG (30 s at 64 Hz → pulse peaks → RR → 12 features): ${ppgUs.toFixed(1)} µs/window`);
  log(`ECG quality indices (Welch pSQI/basSQI + kurtosis, 30 s at 250 Hz): ${ecgSqiUs.toFixed(1)} µs/window`);
  log(`PPG template SQI (pulse peaks + template, 30 s at 64 Hz): ${ppgSqiUs.toFixed(1)} µs/window`);
  const fig = (bench: string, value: number, goal: string, what: string): TimingFigure => ({
    bench,
    metric: 'us_per_window',
    value: Math.round(value * 10) / 10,
    unit: 'us',
    baseline: `none (plain figure): ${what}`,
    goal,
  });
  // Goals: ≤ 10 % of one core at the load (1,000 accel windows/s; 20 ECG windows/s).
  return Promise.resolve([
    fig('pipeline-ops-fall', fallUs, '<100', 'accel_features on 3×200 samples at 50 Hz'),
    fig('pipeline-ops-af-ecg', ecgUs, '<5000', 'ECG 30 s at 250 Hz through the AF ECG plan'),
    fig('pipeline-ops-af-ppg', ppgUs, '<5000', 'PPG 30 s at 64 Hz through the AF PPG plan'),
    fig('pipeline-ops-ecg-sqi', ecgSqiUs, '<5000', 'ecg_sqi on ECG 30 s at 250 Hz'),
    fig('pipeline-ops-ppg-sqi', ppgSqiUs, '<5000', 'pulse_peaks + ppg_template_sqi on PPG 30 s at 64 Hz'),
  ]);
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  void run((line) => {
    process.stdout.write(`${line}\n`);
  }).then((figures) => {
    for (const f of figures) process.stdout.write(`${JSON.stringify(f)}\n`);
  });
}
