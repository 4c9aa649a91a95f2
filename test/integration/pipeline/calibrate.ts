// Calibrates the reference bundles' quality (SQI) and OOD bounds on simulator data, and prints the
// evidence: run with `node --import tsx test/integration/pipeline/calibrate.ts` (≈ 1 min).
// The method (docs/pipeline.md "Calibration"):
//   1. Clean data from seeds never used for training or for the gate test: continuous recordings of
//      every cohort (activities, falls, near-falls / sinus, AF, ectopy) plus dataset-style windows.
//   2. OOD: maxFeaturesOutsideSupport = the smallest k/F such that at most 0.1 % of clean windows
//      have more than k features outside the profile's support; maxDistance = the smallest integer
//      exceeded by at most 0.1 % of clean windows.
//   3. SQIs (AF screener): the model's accuracy under injected noise and baseline wander sets the
//      limits (scenarios.ts NOISE_LIMIT_MV, WANDER_LIMIT_MV); pSQI's lower bound is the largest
//      multiple of 0.01 that refuses at most 0.1 % of clean windows, minus 0.01; basSQI's bound is
//      the smallest of 0.05…0.35 that refuses ≥ 99.5 % of windows with wander at the limit
//      (0.1–0.5 Hz) and ≤ 0.1 % of clean windows (the model's band-pass tolerates wander below it).
//   4. The proposed policies are then run through the real pipeline on artifact scenarios (again
//      other seeds) and the gate figures printed.
//   5. OOD on deliberately shifted inputs (units error, tachycardia, gain) is reported.
//   6. The fall detector's fallback rule (it answers the windows the model must not judge) is run on
//      labelled dataset windows: it must fire on falls and not on near-falls. Its posture-change
//      (≥ 30°, Kangas et al. 2008) and impact-width (≥ 40 ms: a body's impact is damped by soft
//      tissue, a dropped device's is a single-sample spike) terms were added for that.
import type { Manifest } from '../../../models/format/manifest.ts';
import { compilePreprocessing, sqiSteps } from '../../../models/ops/index.ts';
import { featureExtractor, featureReference } from '../../../runtime/loader.ts';
import { StreamWindower, evaluateRule, type Window } from '../../../runtime/pipeline/index.ts';
import { Rng, afWindows, applyArtifacts, fallWindows } from '../../../simulator/index.ts';
import { formatFigures, gateFigures, judgeScenarios } from './helpers/gate.ts';
import { referenceArtifacts, referencePipeline, type ReferenceName } from './helpers/reference.ts';
import {
  NOISE_LIMIT_MV,
  WANDER_LIMIT_MV,
  accelScenario,
  ecgScenario,
  framesOf,
  type Scenario,
} from './helpers/scenarios.ts';
import { scoreWithOnnxRuntime } from '../../../models/onnx/index.ts';

const CLEAN_TARGET = 0.001;

function quantileAbove(values: readonly number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((1 - share) * sorted.length) - 1)] ?? Number.NaN;
}

interface Measured {
  readonly outside: number[];
  readonly distance: number[];
  readonly psqi: number[];
  readonly bassqi: number[];
}

function windowsOf(s: Scenario, manifest: Manifest): Window[] {
  const w = new StreamWindower(
    {
      deviceId: s.deviceId,
      streamId: s.streamId,
      sensor: manifest.input.sensor,
      rateHz: s.rateHz,
      channelCount: s.channels.length,
    },
    manifest.input,
    () => 0,
  );
  const out: Window[] = [];
  for (const f of framesOf(s)) out.push(...w.push(f));
  return out;
}

function measure(name: ReferenceName, windows: Iterable<readonly Float64Array[]>): Measured {
  const { manifest, profile } = referenceArtifacts(name);
  const extractor = featureExtractor(manifest);
  if (!profile) throw new Error('no profile');
  const ref = featureReference(profile, extractor.names);
  const length = Math.round(manifest.input.windowS * manifest.input.sampleRateHz);
  const sqi =
    manifest.input.sensor === 'ecg'
      ? compilePreprocessing(
          sqiSteps(['ecg_psqi', 'ecg_bassqi']),
          { rateHz: manifest.input.sampleRateHz, channels: 1, length },
          'sqi',
        )
      : null;
  const m: Measured = { outside: [], distance: [], psqi: [], bassqi: [] };
  for (const channels of windows) {
    const signal = { kind: 'signal' as const, rateHz: manifest.input.sampleRateHz, channels };
    if (sqi) {
      const v = sqi.run(signal).values;
      m.psqi.push(v[0] as number);
      m.bassqi.push(v[2] as number);
    }
    const f = extractor.extract({ channels, rateHz: manifest.input.sampleRateHz } as unknown as Window);
    if (f.kind !== 'features') continue;
    let outside = 0;
    let squares = 0;
    let used = 0;
    f.values.forEach((v, i) => {
      if (Number.isNaN(v)) return;
      if (v < (ref.min[i] as number) || v > (ref.max[i] as number)) outside += 1;
      const sd = ref.sd[i] as number;
      if (sd > 0) {
        squares += ((v - (ref.mean[i] as number)) / sd) ** 2;
        used += 1;
      }
    });
    m.outside.push(outside);
    m.distance.push(used > 0 ? Math.sqrt(squares / used) : 0);
  }
  return m;
}

function oodBounds(
  m: Measured,
  features: number,
): { maxFeaturesOutsideSupport: number; maxDistance: number } {
  let k = 0;
  while (m.outside.filter((o) => o > k).length / m.outside.length > CLEAN_TARGET) k += 1;
  let d = 1;
  while (m.distance.filter((x) => x > d).length / m.distance.length > CLEAN_TARGET) d += 1;
  // Any value in [k/F, (k+1)/F) refuses the same windows: take a round one.
  return { maxFeaturesOutsideSupport: Math.ceil(((k + 0.5) / features) * 100) / 100, maxDistance: d };
}

function* accelClean(seedBase: number): Generator<readonly Float64Array[]> {
  for (let i = 0; i < 36; i += 1) {
    const s = accelScenario(seedBase + i, 600, false);
    for (const w of windowsOf(s, referenceArtifacts('fall-detector').manifest)) yield w.channels;
  }
  for (const w of fallWindows({
    seed: seedBase,
    count: 3000,
    positiveFraction: 0.4,
    nearFallFraction: 0.3,
  })) {
    yield [Float64Array.from(w.x), Float64Array.from(w.y), Float64Array.from(w.z)];
  }
}

function* ecgClean(seedBase: number): Generator<readonly Float64Array[]> {
  for (let i = 0; i < 48; i += 1) {
    const s = ecgScenario(seedBase + i, 600, false);
    for (const w of windowsOf(s, referenceArtifacts('af-screener').manifest)) yield w.channels;
  }
  for (const w of afWindows({ seed: seedBase, count: 600, source: 'ecg' }))
    yield [Float64Array.from(w.samples)];
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log('1. Clean calibration data (seeds 71000…, never used for training or the gate test)');
  const fall = measure('fall-detector', accelClean(71_000));
  const af = measure('af-screener', ecgClean(72_000));
  log(`   fall-detector: ${fall.distance.length} windows; af-screener: ${af.distance.length} windows`);

  log('2. OOD bounds (≤ 0.1 % of clean windows refused each)');
  const fallOod = oodBounds(fall, 16);
  const afOod = oodBounds(af, 12);
  log(
    `   fall-detector ${JSON.stringify(fallOod)}  (distance q99.9 ${quantileAbove(fall.distance, 0.001).toFixed(2)})`,
  );
  log(
    `   af-screener   ${JSON.stringify(afOod)}  (distance q99.9 ${quantileAbove(af.distance, 0.001).toFixed(2)})`,
  );

  log('3. SQI bounds for the AF screener');
  const psqiLow = quantileAbove(af.psqi, 1 - CLEAN_TARGET);
  const psqiMin = Math.floor(psqiLow * 100) / 100 - 0.01;
  const psqiMax = Math.min(0.99, Math.ceil((quantileAbove(af.psqi, CLEAN_TARGET) + 0.01) * 100) / 100);
  const wander = measure(
    'af-screener',
    (function* () {
      for (const [i, w] of afWindows({ seed: 73_000, count: 300, source: 'ecg' }).entries()) {
        const x = applyArtifacts(
          { rateHz: w.rateHz, channels: [w.samples] },
          [{ kind: 'baseline-wander', amplitude: WANDER_LIMIT_MV, freqHz: 0.1 + (0.4 * i) / 300 }],
          Rng.of(73_000, 'wander', i),
        ).channels[0] as Float32Array;
        yield [Float64Array.from(x)];
      }
    })(),
  );
  const refusedClean = (b: number) => af.bassqi.filter((v) => !(v >= b)).length / af.bassqi.length;
  const caughtAtLimit = (b: number) => wander.bassqi.filter((v) => !(v >= b)).length / wander.bassqi.length;
  const grid = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35];
  const safe = grid.filter((b) => refusedClean(b) <= CLEAN_TARGET);
  const basMin = safe.find((b) => caughtAtLimit(b) >= 0.995) ?? Math.max(...safe);
  log(
    `   basSQI bound → refused clean / wander at the limit: ${grid
      .map((b) => `${b}: ${(refusedClean(b) * 100).toFixed(2)} % / ${(caughtAtLimit(b) * 100).toFixed(1)} %`)
      .join('; ')}`,
  );
  log(`   ecg_psqi in [${psqiMin.toFixed(2)}, ${psqiMax.toFixed(2)}], ecg_bassqi ≥ ${basMin}`);
  log(
    `   clean pSQI min ${Math.min(...af.psqi).toFixed(3)}, max ${Math.max(...af.psqi).toFixed(3)}; basSQI min ${Math.min(...af.bassqi).toFixed(3)}`,
  );

  log(`   model under white noise (afWindows seed 73200): why ${NOISE_LIMIT_MV} mV is the limit`);
  {
    const { manifest, modelBytes } = referenceArtifacts('af-screener');
    const extractor = featureExtractor(manifest);
    const sqiPlan = compilePreprocessing(
      sqiSteps(['ecg_psqi', 'ecg_bassqi']),
      { rateHz: 250, channels: 1, length: 7500 },
      'sqi',
    );
    const base = afWindows({ seed: 73_200, count: 200, source: 'ecg' });
    for (const sd of [0.1, 0.2, 0.3, 0.4, 0.6]) {
      const rows: { label: number; x: Float64Array; pass: boolean }[] = [];
      for (const [i, w] of base.entries()) {
        const noisy = applyArtifacts(
          { rateHz: w.rateHz, channels: [w.samples] },
          [{ kind: 'gaussian-noise', sd }],
          Rng.of(73_200, 'noise', i),
        ).channels[0] as Float32Array;
        const channels = [Float64Array.from(noisy)];
        const q = sqiPlan.run({ kind: 'signal', rateHz: 250, channels }).values;
        const pass = (q[0] as number) >= psqiMin && (q[0] as number) <= psqiMax && (q[2] as number) >= basMin;
        const f = extractor.extract({ channels, rateHz: 250 } as unknown as Window);
        if (f.kind === 'features') rows.push({ label: w.label, x: f.values, pass });
      }
      const scores = await scoreWithOnnxRuntime(
        modelBytes,
        Float32Array.from(rows.flatMap((r) => Array.from(r.x))),
        { inputName: manifest.model.inputName, outputName: manifest.model.outputName, featureCount: 12 },
      );
      const t = manifest.thresholds.operatingThreshold;
      const rate = (subset: number[], label: number) => {
        const of = subset.filter((k) => rows[k]?.label === label);
        return (
          of.filter((k) => ((scores[k] as number) >= t ? 1 : 0) === label).length / Math.max(1, of.length)
        );
      };
      const all = rows.map((_, k) => k);
      const passed = all.filter((k) => rows[k]?.pass === true);
      log(
        `     sd ${sd} mV: refused ${((1 - passed.length / all.length) * 100).toFixed(0)} %; ` +
          `all windows sens ${rate(all, 1).toFixed(2)} spec ${rate(all, 0).toFixed(2)}; ` +
          `passed windows sens ${rate(passed, 1).toFixed(2)} spec ${rate(passed, 0).toFixed(2)}`,
      );
    }
  }

  log('4. Gate figures with these bounds (artifact scenarios, seeds 74000…)');
  const fallArtifacts = referenceArtifacts('fall-detector', (spec) => {
    Object.assign(spec.ood as object, fallOod);
  });
  const afArtifacts = referenceArtifacts('af-screener', (spec) => {
    Object.assign(spec.ood as object, afOod);
    (spec.quality as { sqi: unknown }).sqi = [
      { name: 'ecg_psqi', min: Number(psqiMin.toFixed(2)), max: psqiMax },
      { name: 'ecg_bassqi', min: basMin, max: null },
    ];
  });
  const rp = await referencePipeline([fallArtifacts, afArtifacts], { keepResults: false });
  const accel = [
    ...Array.from({ length: 12 }, (_, i) => accelScenario(74_000 + i, 600, true)),
    ...Array.from({ length: 12 }, (_, i) => accelScenario(74_100 + i, 600, false)),
  ];
  const ecg = [
    ...Array.from({ length: 24 }, (_, i) => ecgScenario(75_000 + i, 600, true)),
    ...Array.from({ length: 12 }, (_, i) => ecgScenario(75_100 + i, 600, false)),
  ];
  const ja = await judgeScenarios(rp, accel, 'accel', {
    policy: fallArtifacts.manifest.quality,
    input: fallArtifacts.manifest.input,
    ecg: false,
  });
  log(formatFigures('   fall-detector', gateFigures(ja)));
  const je = await judgeScenarios(rp, ecg, 'ecg', {
    policy: afArtifacts.manifest.quality,
    input: afArtifacts.manifest.input,
    ecg: true,
  });
  log(formatFigures('   af-screener', gateFigures(je)));

  log('5. OOD on shifted inputs (units error, tachycardia), seeds 76000…');
  const shifted = async (
    sensor: 'accel' | 'ecg',
    scenarios: readonly Scenario[],
    what: string,
    policy: typeof fallArtifacts,
  ) => {
    const judged = await judgeScenarios(rp, scenarios, sensor, {
      policy: policy.manifest.quality,
      input: policy.manifest.input,
      ecg: sensor === 'ecg',
    });
    const refusedBy: Record<string, number> = {};
    for (const w of judged) {
      if (w.refused && w.result.status.kind === 'fallback')
        refusedBy[w.result.status.reason] = (refusedBy[w.result.status.reason] ?? 0) + 1;
    }
    const share = judged.filter((w) => w.refused).length / judged.length;
    log(
      `   ${what}: ${(share * 100).toFixed(1)} % of ${judged.length} windows refused ${JSON.stringify(refusedBy)}`,
    );
  };
  await shifted(
    'accel',
    Array.from({ length: 6 }, (_, i) => accelScenario(76_000 + i, 300, false, { accelGain: 9.80665 })),
    'fall-detector, accelerometer in m/s² instead of g',
    fallArtifacts,
  );
  await shifted(
    'ecg',
    Array.from({ length: 6 }, (_, i) => ecgScenario(76_100 + i, 300, false, { hrOffsetBpm: 60 })),
    'af-screener, resting heart rate +60 bpm',
    afArtifacts,
  );
  await shifted(
    'ecg',
    Array.from({ length: 6 }, (_, i) => ecgScenario(76_200 + i, 300, false, { ecgGain: 0.2 })),
    'af-screener, ECG gain × 0.2',
    afArtifacts,
  );
  await rp.close();

  log("6. The fall detector's fallback rule on dataset windows (seed 61000): share of windows it fires on");
  const manifest = referenceArtifacts('fall-detector').manifest;
  const extractor = featureExtractor(manifest);
  const rule = manifest.fallback.kind === 'rule' ? manifest.fallback.rule : null;
  const fired = new Map<string, [number, number]>();
  for (const w of fallWindows({ seed: 61_000, count: 4000, positiveFraction: 0.4, nearFallFraction: 0.5 })) {
    const f = extractor.extract({
      channels: [Float64Array.from(w.x), Float64Array.from(w.y), Float64Array.from(w.z)],
      rateHz: 50,
    } as unknown as Window);
    if (f.kind !== 'features' || !rule) continue;
    const kind = w.kind.startsWith('fall') ? 'fall' : w.kind;
    const entry = fired.get(kind) ?? [0, 0];
    entry[1] += 1;
    try {
      if (evaluateRule(rule, f.named) === true) entry[0] += 1;
    } catch {
      // not computable: the rule does not fire
    }
    fired.set(kind, entry);
  }
  log(`   ${[...fired].map(([k, [n, of]]) => `${k} ${((n / of) * 100).toFixed(1)} %`).join(', ')}`);
}

await main();
