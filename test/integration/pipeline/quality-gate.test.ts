// The quality gate on simulator artifacts (issue 4): at least 99 % of the windows whose injected
// artifact exceeds the policy never reach the model, and at most 1 % of clean windows are refused —
// for both reference models, through the real pipeline and ONNX Runtime. Ground truth comes from the
// simulator's annotations and the injected timestamps (helpers/scenarios.ts defines "exceeds").
// Seeds differ from those the bounds were calibrated on (calibrate.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFigures, gateFigures, judgeScenarios, type JudgedWindow } from './helpers/gate.ts';
import { referenceArtifacts, referencePipeline, type ReferencePipeline } from './helpers/reference.ts';
import { accelScenario, ecgScenario } from './helpers/scenarios.ts';

const fall = referenceArtifacts('fall-detector');
const af = referenceArtifacts('af-screener');
let rp: ReferencePipeline;

beforeAll(async () => {
  rp = await referencePipeline([fall, af], { keepResults: false });
});
afterAll(async () => {
  await rp.close();
});

function expectGate(name: string, judged: readonly JudgedWindow[], minExceeding: number, minClean: number) {
  const f = gateFigures(judged);
  process.stdout.write(`${formatFigures(name, f)}\n`);
  expect(f.exceeds.windows).toBeGreaterThanOrEqual(minExceeding);
  expect(f.clean.windows).toBeGreaterThanOrEqual(minClean);
  expect(f.exceeds.rate).toBeGreaterThanOrEqual(0.99);
  expect(f.clean.rate).toBeLessThanOrEqual(0.01);
  // No window that failed the gate ever carries a model score.
  for (const w of judged) if (w.refused) expect(rp.reachedModel.has(w.result.resultId)).toBe(false);
  return f;
}

describe('quality gate on simulator artifacts', () => {
  it('fall detector: dropouts, stuck sensor, clipping and timing never reach the model; clean windows pass', async () => {
    const scenarios = [
      ...Array.from({ length: 8 }, (_, i) => accelScenario(81_000 + i, 300, true)),
      ...Array.from({ length: 6 }, (_, i) => accelScenario(81_100 + i, 300, false)),
    ];
    const judged = await judgeScenarios(rp, scenarios, 'accel', {
      policy: fall.manifest.quality,
      input: fall.manifest.input,
      ecg: false,
    });
    const f = expectGate('fall-detector', judged, 300, 1500);
    for (const kind of ['dropout', 'flatline', 'timing'])
      expect(f.exceedsByKind[kind]?.windows ?? 0).toBeGreaterThan(10);
  });

  it('AF screener: lead-off, dropouts, stuck sensor, clipping, noise, wander and timing never reach the model', async () => {
    const scenarios = [
      ...Array.from({ length: 12 }, (_, i) => ecgScenario(82_000 + i, 300, true)),
      ...Array.from({ length: 8 }, (_, i) => ecgScenario(82_100 + i, 300, false)),
    ];
    const judged = await judgeScenarios(rp, scenarios, 'ecg', {
      policy: af.manifest.quality,
      input: af.manifest.input,
      ecg: true,
    });
    const f = expectGate('af-screener', judged, 300, 300);
    for (const kind of ['lead-off', 'dropout', 'flatline', 'noise', 'timing'])
      expect(f.exceedsByKind[kind]?.windows ?? 0).toBeGreaterThan(5);
  });

  it('OOD refuses an accelerometer that reports m/s² as g', async () => {
    const scenarios = Array.from({ length: 2 }, (_, i) =>
      accelScenario(83_000 + i, 120, false, { accelGain: 9.80665 }),
    );
    const judged = await judgeScenarios(rp, scenarios, 'accel', {
      policy: fall.manifest.quality,
      input: fall.manifest.input,
      ecg: false,
    });
    expect(judged.length).toBeGreaterThan(200);
    expect(judged.every((w) => w.refused)).toBe(true);
    expect(
      judged.some((w) => w.result.status.kind === 'fallback' && w.result.status.reason === 'OOD_SUPPORT'),
    ).toBe(true);
  });
});
