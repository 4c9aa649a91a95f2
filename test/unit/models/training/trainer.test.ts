import { describe, expect, it } from 'vitest';
import { scoreWithOnnxRuntime } from '../../../../models/onnx/index.ts';
import {
  DEFAULT_TRAIN_OPTIONS,
  TrainingError,
  exportClassifierOnnx,
  predictProba,
  resolveTrainOptions,
  trainClassifier,
} from '../../../../models/training/index.ts';
import type { LabeledData, TrainedClassifier, TrainOptions } from '../../../../models/training/index.ts';
import { syntheticData } from './synthetic.ts';

function weightBytes(model: TrainedClassifier): Buffer {
  return Buffer.concat(
    model.layers.flatMap((l) => [
      Buffer.from(l.weights.buffer.slice(0)),
      Buffer.from(l.bias.buffer.slice(0)),
    ]),
  );
}

/** Fraction of (positive, negative) pairs ranked correctly (ties count ½). */
function auc(scores: Float64Array | Float32Array, y: Uint8Array): number {
  let good = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      const d = (scores[i] ?? 0) - (scores[j] ?? 0);
      good += d > 0 ? 1 : d === 0 ? 0.5 : 0;
    }
  }
  return good / pairs;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof TrainingError ? e.code : 'other';
  }
  return undefined;
}

const train = syntheticData(800, 6, 1);
const validation = syntheticData(300, 6, 2);
const test = syntheticData(400, 6, 3);
const quick: Partial<TrainOptions> = { seed: 5, maxEpochs: 40, patience: 10 };

describe('deterministic trainer', () => {
  it('gives bit-identical weights for the same data and seed, different ones for another seed', () => {
    const a = trainClassifier(train, validation, quick);
    const b = trainClassifier(train, validation, quick);
    const c = trainClassifier(train, validation, { ...quick, seed: 6 });
    expect(weightBytes(a).equals(weightBytes(b))).toBe(true);
    expect(a.history).toEqual(b.history);
    expect(weightBytes(a).equals(weightBytes(c))).toBe(false);
    const opts = { inputName: 'features', outputName: 'p', docString: 'd', metadata: { k: 'v' } };
    expect(
      Buffer.from(exportClassifierOnnx(a, opts)).equals(Buffer.from(exportClassifierOnnx(b, opts))),
    ).toBe(true);
  });

  it('is deterministic with relu, full batch and fixed order too', () => {
    const opts: Partial<TrainOptions> = { ...quick, activation: 'relu', batchSize: 0, shuffle: false };
    const a = trainClassifier(train, validation, opts);
    const b = trainClassifier(train, validation, opts);
    expect(weightBytes(a).equals(weightBytes(b))).toBe(true);
  });

  it('learns: held-out AUC well above chance for the MLP and for logistic regression', () => {
    const mlp = trainClassifier(train, validation, { ...quick, maxEpochs: 80 });
    const lr = trainClassifier(train, validation, { ...quick, hiddenUnits: [], maxEpochs: 80 });
    expect(lr.layers).toHaveLength(1);
    expect(lr.hyperparameters['model']).toBe('logistic-regression');
    expect(auc(predictProba(mlp, test.x), test.y)).toBeGreaterThan(0.85);
    expect(auc(predictProba(lr, test.x), test.y)).toBeGreaterThan(0.8);
    // Features 0–3 are higher for positives: logistic regression weights on them (standardised) are positive.
    for (let j = 0; j < 4; j++) expect(lr.layers[0]?.weights[j]).toBeGreaterThan(0);
  });

  it('keeps the best validation epoch and stops after `patience` epochs without improvement', () => {
    const model = trainClassifier(train, validation, {
      ...quick,
      learningRate: 0.05,
      maxEpochs: 200,
      patience: 5,
    });
    expect(model.stoppedEarly).toBe(true);
    expect(model.epochsRun).toBe(model.bestEpoch + 5);
    expect(model.history).toHaveLength(model.epochsRun);
    const best = model.history[model.bestEpoch - 1];
    expect(best?.validationLoss).toBe(model.bestValidationLoss);
    expect(Math.min(...model.history.map((h) => h.validationLoss))).toBe(model.bestValidationLoss);
  });

  it('balanced class weighting gives each class half the total weight', () => {
    const model = trainClassifier(train, validation, { ...quick, maxEpochs: 1 });
    let pos = 0;
    for (const label of train.y) pos += label;
    const neg = train.y.length - pos;
    expect(model.classWeights.positive * pos).toBeCloseTo(train.y.length / 2, 9);
    expect(model.classWeights.negative * neg).toBeCloseTo(train.y.length / 2, 9);
    const none = trainClassifier(train, validation, {
      ...quick,
      maxEpochs: 1,
      classWeighting: { kind: 'none' },
    });
    expect(none.classWeights).toEqual({ positive: 1, negative: 1 });
  });

  it('exports a graph that matches the float64 trainer within 1e-5 through onnxruntime, NaN rows included', async () => {
    const model = trainClassifier(train, validation, quick);
    const bytes = exportClassifierOnnx(model, {
      inputName: 'features',
      outputName: 'p',
      docString: 'd',
      metadata: {},
    });
    const x = test.x.slice(0, 60 * 6);
    x[0] = Number.NaN;
    x.fill(Number.NaN, 6, 12); // an all-NaN row
    const want = predictProba(model, x);
    const got = await scoreWithOnnxRuntime(bytes, x, {
      inputName: 'features',
      outputName: 'p',
      featureCount: 6,
    });
    for (let i = 0; i < want.length; i++) {
      expect(Math.abs((got[i] ?? Number.NaN) - (want[i] ?? Number.NaN))).toBeLessThan(1e-5);
    }
  });

  it('records every hyperparameter that shaped the weights', () => {
    const model = trainClassifier(train, validation, { ...quick, maxEpochs: 1 });
    expect(model.hyperparameters).toMatchObject({
      model: 'mlp',
      hiddenUnits: '16',
      activation: 'tanh',
      seed: 5,
      optimizer: 'adam',
      nanImputation: 'training-median',
      classWeighting: 'balanced',
    });
  });

  it('rejects bad options and data with typed codes', () => {
    expect(codeOf(() => resolveTrainOptions({ seed: -1 }))).toBe('BAD_OPTION');
    expect(codeOf(() => resolveTrainOptions({ seed: 2 ** 32 }))).toBe('BAD_OPTION');
    expect(codeOf(() => resolveTrainOptions({ learningRate: 0 }))).toBe('BAD_OPTION');
    expect(codeOf(() => resolveTrainOptions({ hiddenUnits: [0] }))).toBe('BAD_OPTION');
    expect(codeOf(() => resolveTrainOptions({ patience: 0 }))).toBe('BAD_OPTION');
    expect(codeOf(() => resolveTrainOptions({ activation: 'gelu' as 'tanh' }))).toBe('BAD_OPTION');
    expect(
      codeOf(() => resolveTrainOptions({ classWeighting: { kind: 'explicit', positive: 0, negative: 1 } })),
    ).toBe('BAD_OPTION');
    expect(resolveTrainOptions({})).toEqual(DEFAULT_TRAIN_OPTIONS);
    const allNeg: LabeledData = { ...validation, y: new Uint8Array(validation.y.length) };
    expect(codeOf(() => trainClassifier(train, allNeg, quick))).toBe('SINGLE_CLASS');
    expect(codeOf(() => trainClassifier(allNeg, validation, quick))).toBe('SINGLE_CLASS');
    const badLabel: LabeledData = { ...train, y: train.y.map((v, i) => (i === 0 ? 2 : v)) };
    expect(codeOf(() => trainClassifier(badLabel, validation, quick))).toBe('BAD_DATA');
    const inf: LabeledData = { ...train, x: train.x.map((v, i) => (i === 3 ? Infinity : v)) };
    expect(codeOf(() => trainClassifier(inf, validation, quick))).toBe('BAD_DATA');
    const renamed: LabeledData = { ...validation, featureNames: ['a', 'b', 'c', 'd', 'e', 'f'] };
    expect(codeOf(() => trainClassifier(train, renamed, quick))).toBe('BAD_DATA');
    const allNanFeature: LabeledData = { ...train, x: train.x.map((v, i) => (i % 6 === 2 ? Number.NaN : v)) };
    expect(codeOf(() => trainClassifier(allNanFeature, validation, quick))).toBe('DEGENERATE_FEATURE');
  });

  it('trains 3,000 × 16 for 300 epochs in well under 20 s', () => {
    const big = syntheticData(3000, 16, 21);
    const val = syntheticData(600, 16, 22);
    const start = performance.now();
    const model = trainClassifier(big, val, { seed: 1, maxEpochs: 300, patience: 1000 });
    const seconds = (performance.now() - start) / 1000;
    expect(model.epochsRun).toBe(300);
    expect(seconds).toBeLessThan(20);
  });
});
