// Deterministic trainer for a small MLP binary classifier (0 hidden layers = logistic regression).
//
// Model: standardised x → [Dense → tanh|relu]* → Dense(1) → sigmoid.
// Loss: mean over the batch of w_i·BCE(p_i, y_i) + (l2/2)·Σ W² (weights only, not biases),
// where w_i is the class weight of example i. Optimiser: Adam (Kingma & Ba 2015, Algorithm 1).
// Early stopping: after each epoch the weighted BCE on the validation split is computed; the
// parameters of the best epoch are kept, training stops after `patience` epochs without an
// improvement larger than `minDelta`.
//
// Determinism: float64 throughout; every sum runs in a fixed loop order; initialisation and the
// per-epoch shuffles come from seeded xoroshiro128+ streams (rng.ts); exp/log/tanh come from
// detmath.ts (only +−×÷ and sqrt, which ECMA-262 requires to be correctly rounded), and Adam's
// bias corrections use running products instead of Math.pow. Same data + options => same bits.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { checkLabeledData, classCounts, rowCount } from './data.ts';
import type { LabeledData } from './data.ts';
import { dsigmoid, dsoftplus, dtanh } from './detmath.ts';
import { TrainingError } from './errors.ts';
import { checkSeed, seededRng } from './rng.ts';
import { applyStandardizer, fitStandardizer } from './standardize.ts';
import type { StandardizationMethod, Standardizer } from './standardize.ts';

export type Activation = 'tanh' | 'relu';

export type ClassWeighting =
  | { readonly kind: 'none' }
  /** w_c = n / (2 · n_c) on the training split (each class carries half the total weight). */
  | { readonly kind: 'balanced' }
  | { readonly kind: 'explicit'; readonly positive: number; readonly negative: number };

export interface TrainOptions {
  /** Unsigned 32-bit seed; initialisation and shuffles derive from it. */
  readonly seed: number;
  /** Hidden layer sizes; [] gives logistic regression. */
  readonly hiddenUnits: readonly number[];
  readonly activation: Activation;
  readonly standardization: StandardizationMethod;
  readonly classWeighting: ClassWeighting;
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly adamEpsilon: number;
  /** L2 penalty coefficient on weights (not biases). */
  readonly l2: number;
  readonly maxEpochs: number;
  /** Examples per mini-batch; 0 = full batch. */
  readonly batchSize: number;
  /** Shuffle the training order every epoch (seeded); false = fixed data order. */
  readonly shuffle: boolean;
  readonly patience: number;
  readonly minDelta: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = Object.freeze({
  seed: 1,
  hiddenUnits: Object.freeze([16]),
  activation: 'tanh',
  standardization: 'mean-sd',
  classWeighting: Object.freeze({ kind: 'balanced' }),
  learningRate: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  adamEpsilon: 1e-8,
  l2: 1e-4,
  maxEpochs: 300,
  batchSize: 64,
  shuffle: true,
  patience: 30,
  minDelta: 1e-5,
});

export interface DenseLayer {
  readonly inputs: number;
  readonly outputs: number;
  /** Row-major [inputs, outputs]. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
}

export interface EpochRecord {
  readonly epoch: number;
  /** Mean weighted BCE over the epoch's batches (before each batch's update), without L2. */
  readonly trainLoss: number;
  readonly validationLoss: number;
}

export interface TrainedClassifier {
  readonly featureNames: readonly string[];
  readonly standardizer: Standardizer;
  readonly activation: Activation;
  readonly layers: readonly DenseLayer[];
  readonly classWeights: { readonly positive: number; readonly negative: number };
  /** 1-based epoch whose parameters were kept. */
  readonly bestEpoch: number;
  readonly epochsRun: number;
  readonly stoppedEarly: boolean;
  readonly bestValidationLoss: number;
  readonly history: readonly EpochRecord[];
  /** Flat record of every option that shaped the weights (for Provenance.hyperparameters). */
  readonly hyperparameters: Readonly<Record<string, number | string>>;
}

function bad(message: string): TrainingError {
  return new TrainingError('BAD_OPTION', message);
}

/** Merges `options` over the defaults and validates every field. */
export function resolveTrainOptions(options: Partial<TrainOptions>): TrainOptions {
  const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  checkSeed(o.seed);
  for (const h of o.hiddenUnits) {
    if (!Number.isSafeInteger(h) || h < 1 || h > 4096) throw bad(`hidden layer size ${h}`);
  }
  // Options may come from untyped config files: check the closed unions at run time too.
  if (!(['tanh', 'relu'] as readonly string[]).includes(o.activation)) {
    throw bad(`activation ${o.activation}`);
  }
  if (!(['mean-sd', 'median-iqr'] as readonly string[]).includes(o.standardization)) {
    throw bad(`standardization ${o.standardization}`);
  }
  const positive = (name: string, v: number): void => {
    if (!(v > 0) || !Number.isFinite(v)) throw bad(`${name} must be > 0, got ${v}`);
  };
  positive('learningRate', o.learningRate);
  positive('adamEpsilon', o.adamEpsilon);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) throw bad(`beta1 ${o.beta1}`);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) throw bad(`beta2 ${o.beta2}`);
  if (!(o.l2 >= 0) || !Number.isFinite(o.l2)) throw bad(`l2 ${o.l2}`);
  if (!(o.minDelta >= 0) || !Number.isFinite(o.minDelta)) throw bad(`minDelta ${o.minDelta}`);
  for (const [name, v, min] of [
    ['maxEpochs', o.maxEpochs, 1],
    ['batchSize', o.batchSize, 0],
    ['patience', o.patience, 1],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < min) throw bad(`${name} must be an integer >= ${min}, got ${v}`);
  }
  const cw = o.classWeighting;
  switch (cw.kind) {
    case 'none':
    case 'balanced':
      break;
    case 'explicit':
      positive('classWeighting.positive', cw.positive);
      positive('classWeighting.negative', cw.negative);
      break;
  }
  return o;
}

function classWeightsFor(
  cw: ClassWeighting,
  counts: { positive: number; negative: number },
): { positive: number; negative: number } {
  switch (cw.kind) {
    case 'none':
      return { positive: 1, negative: 1 };
    case 'balanced': {
      const n = counts.positive + counts.negative;
      return { positive: n / (2 * counts.positive), negative: n / (2 * counts.negative) };
    }
    case 'explicit':
      return { positive: cw.positive, negative: cw.negative };
  }
}

/** Glorot-uniform (tanh, and the output layer) or He-uniform (relu) weights; zero biases. */
function initLayers(sizes: readonly number[], activation: Activation, seed: number): DenseLayer[] {
  const rng = seededRng(seed, 'mlp-init');
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l] ?? 0;
    const outputs = sizes[l + 1] ?? 0;
    const hidden = l + 2 < sizes.length;
    const limit = hidden && activation === 'relu' ? Math.sqrt(6 / inputs) : Math.sqrt(6 / (inputs + outputs));
    const weights = new Float64Array(inputs * outputs);
    for (let i = 0; i < weights.length; i++) weights[i] = (2 * uniformFloat64(rng) - 1) * limit;
    layers.push({ inputs, outputs, weights, bias: new Float64Array(outputs) });
  }
  return layers;
}

/** Working buffers for one batch: pre-activations and activations per layer. */
interface Buffers {
  readonly acts: Float64Array[]; // acts[0] = input batch, acts[l+1] = output of layer l (post-activation; last = logit)
  readonly deltas: Float64Array[]; // deltas[l] = dLoss/d(pre-activation of layer l)
}

function makeBuffers(layers: readonly DenseLayer[], batch: number, f: number): Buffers {
  const acts = [new Float64Array(batch * f)];
  const deltas: Float64Array[] = [];
  for (const layer of layers) {
    acts.push(new Float64Array(batch * layer.outputs));
    deltas.push(new Float64Array(batch * layer.outputs));
  }
  return { acts, deltas };
}

/** Forward pass for `rows` rows already in acts[0]; the last act holds logits. */
function forward(layers: readonly DenseLayer[], activation: Activation, buf: Buffers, rows: number): void {
  const last = layers.length - 1;
  for (let l = 0; l <= last; l++) {
    const layer = layers[l] as DenseLayer;
    const input = buf.acts[l] as Float64Array;
    const output = buf.acts[l + 1] as Float64Array;
    const { inputs, outputs, weights, bias } = layer;
    for (let r = 0; r < rows; r++) {
      const inBase = r * inputs;
      const outBase = r * outputs;
      for (let o = 0; o < outputs; o++) {
        let s = bias[o] as number;
        for (let i = 0; i < inputs; i++)
          s += (input[inBase + i] as number) * (weights[i * outputs + o] as number);
        if (l === last) output[outBase + o] = s;
        else if (activation === 'tanh') output[outBase + o] = dtanh(s);
        else output[outBase + o] = s > 0 ? s : 0;
      }
    }
  }
}

/** Weighted BCE from a logit: w·(softplus(z) − y·z). */
function bceFromLogit(z: number, y: number, w: number): number {
  return w * (dsoftplus(z) - y * z);
}

interface AdamState {
  readonly m: Float64Array[]; // per layer: weights then bias, concatenated
  readonly v: Float64Array[];
}

function copyLayers(layers: readonly DenseLayer[]): DenseLayer[] {
  return layers.map((l) => ({ ...l, weights: l.weights.slice(), bias: l.bias.slice() }));
}

/** Mean weighted BCE of a standardised data set. */
function datasetLoss(
  layers: readonly DenseLayer[],
  activation: Activation,
  xs: Float64Array,
  y: Uint8Array,
  cw: { positive: number; negative: number },
  buf: Buffers,
  chunk: number,
): number {
  const f = layers[0]?.inputs ?? 0;
  const n = y.length;
  let total = 0;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    (buf.acts[0] as Float64Array).set(xs.subarray(start * f, (start + rows) * f));
    forward(layers, activation, buf, rows);
    const logits = buf.acts[layers.length] as Float64Array;
    for (let r = 0; r < rows; r++) {
      const label = y[start + r] as number;
      total += bceFromLogit(logits[r] as number, label, label === 1 ? cw.positive : cw.negative);
    }
  }
  return total / n;
}

/** Trains on `train`, early-stops on `validation`. Both splits need both classes. */
export function trainClassifier(
  train: LabeledData,
  validation: LabeledData,
  options: Partial<TrainOptions> = {},
): TrainedClassifier {
  const o = resolveTrainOptions(options);
  checkLabeledData(train, 'train');
  checkLabeledData(validation, 'validation');
  if (validation.featureNames.join('\u0000') !== train.featureNames.join('\u0000')) {
    throw new TrainingError('BAD_DATA', 'train and validation feature names differ');
  }
  const counts = classCounts(train.y);
  const valCounts = classCounts(validation.y);
  if (counts.positive === 0 || counts.negative === 0) {
    throw new TrainingError('SINGLE_CLASS', 'training split needs both classes');
  }
  if (valCounts.positive === 0 || valCounts.negative === 0) {
    throw new TrainingError('SINGLE_CLASS', 'validation split needs both classes');
  }
  const f = train.featureNames.length;
  const n = rowCount(train);
  const standardizer = fitStandardizer(train.x, train.featureNames, o.standardization);
  const xs = applyStandardizer(standardizer, train.x);
  const xv = applyStandardizer(standardizer, validation.x);
  const cw = classWeightsFor(o.classWeighting, counts);

  const sizes = [f, ...o.hiddenUnits, 1];
  let layers = initLayers(sizes, o.activation, o.seed);
  const batch = o.batchSize === 0 ? n : Math.min(o.batchSize, n);
  const buf = makeBuffers(layers, batch, f);
  const evalChunk = 256;
  const evalBuf = makeBuffers(layers, evalChunk, f);
  const adam: AdamState = {
    m: layers.map((l) => new Float64Array(l.weights.length + l.bias.length)),
    v: layers.map((l) => new Float64Array(l.weights.length + l.bias.length)),
  };
  const grads = layers.map((l) => new Float64Array(l.weights.length + l.bias.length));
  const order = Array.from({ length: n }, (_, i) => i);
  const shuffleRng = seededRng(o.seed, 'mlp-shuffle');
  let beta1Power = 1;
  let beta2Power = 1;

  let best = { loss: Number.POSITIVE_INFINITY, epoch: 0, layers: copyLayers(layers) };
  const history: EpochRecord[] = [];
  let sinceBest = 0;
  let stoppedEarly = false;
  let epoch = 0;
  const last = layers.length - 1;

  while (epoch < o.maxEpochs) {
    epoch++;
    if (o.shuffle) {
      // Fisher–Yates with unbiased integers from the seeded stream.
      for (let i = n - 1; i > 0; i--) {
        const j = uniformInt(shuffleRng, 0, i);
        const t = order[i] as number;
        order[i] = order[j] as number;
        order[j] = t;
      }
    }
    let epochLoss = 0;
    for (let start = 0; start < n; start += batch) {
      const rows = Math.min(batch, n - start);
      const input = buf.acts[0] as Float64Array;
      for (let r = 0; r < rows; r++) {
        const src = (order[start + r] as number) * f;
        input.set(xs.subarray(src, src + f), r * f);
      }
      forward(layers, o.activation, buf, rows);
      // Output delta: d(mean w·BCE)/dz = w (p − y) / rows.
      const logits = buf.acts[last + 1] as Float64Array;
      const dOut = buf.deltas[last] as Float64Array;
      for (let r = 0; r < rows; r++) {
        const label = train.y[order[start + r] as number] as number;
        const w = label === 1 ? cw.positive : cw.negative;
        const z = logits[r] as number;
        epochLoss += bceFromLogit(z, label, w);
        dOut[r] = (w * (dsigmoid(z) - label)) / rows;
      }
      // Backward: gradients of every layer, then deltas of the layer below.
      for (let l = last; l >= 0; l--) {
        const layer = layers[l] as DenseLayer;
        const { inputs, outputs, weights } = layer;
        const a = buf.acts[l] as Float64Array;
        const d = buf.deltas[l] as Float64Array;
        const g = grads[l] as Float64Array;
        for (let i = 0; i < inputs; i++) {
          for (let k = 0; k < outputs; k++) {
            let s = 0;
            for (let r = 0; r < rows; r++)
              s += (a[r * inputs + i] as number) * (d[r * outputs + k] as number);
            g[i * outputs + k] = s + o.l2 * (weights[i * outputs + k] as number);
          }
        }
        const wl = weights.length;
        for (let k = 0; k < outputs; k++) {
          let s = 0;
          for (let r = 0; r < rows; r++) s += d[r * outputs + k] as number;
          g[wl + k] = s;
        }
        if (l > 0) {
          const below = buf.deltas[l - 1] as Float64Array;
          for (let r = 0; r < rows; r++) {
            for (let i = 0; i < inputs; i++) {
              let s = 0;
              for (let k = 0; k < outputs; k++)
                s += (d[r * outputs + k] as number) * (weights[i * outputs + k] as number);
              const act = a[r * inputs + i] as number;
              // a = tanh(pre) → da/dpre = 1 − a²; a = relu(pre) → 1 where a > 0.
              below[r * inputs + i] = o.activation === 'tanh' ? s * (1 - act * act) : act > 0 ? s : 0;
            }
          }
        }
      }
      // Adam update (bias-corrected moments).
      beta1Power *= o.beta1;
      beta2Power *= o.beta2;
      const c1 = 1 - beta1Power;
      const c2 = 1 - beta2Power;
      for (let l = 0; l <= last; l++) {
        const layer = layers[l] as DenseLayer;
        const g = grads[l] as Float64Array;
        const m = adam.m[l] as Float64Array;
        const v = adam.v[l] as Float64Array;
        const wl = layer.weights.length;
        for (let i = 0; i < g.length; i++) {
          const gi = g[i] as number;
          const mi = o.beta1 * (m[i] as number) + (1 - o.beta1) * gi;
          const vi = o.beta2 * (v[i] as number) + (1 - o.beta2) * gi * gi;
          m[i] = mi;
          v[i] = vi;
          const step = (o.learningRate * (mi / c1)) / (Math.sqrt(vi / c2) + o.adamEpsilon);
          if (i < wl) layer.weights[i] = (layer.weights[i] as number) - step;
          else layer.bias[i - wl] = (layer.bias[i - wl] as number) - step;
        }
      }
    }
    const validationLoss = datasetLoss(layers, o.activation, xv, validation.y, cw, evalBuf, evalChunk);
    history.push({ epoch, trainLoss: epochLoss / n, validationLoss });
    if (!Number.isFinite(validationLoss)) {
      throw new TrainingError('BAD_OPTION', `validation loss diverged at epoch ${epoch}`);
    }
    if (validationLoss < best.loss - o.minDelta) {
      best = { loss: validationLoss, epoch, layers: copyLayers(layers) };
      sinceBest = 0;
    } else if (++sinceBest >= o.patience) {
      stoppedEarly = true;
      break;
    }
  }
  layers = best.layers;
  return {
    featureNames: [...train.featureNames],
    standardizer,
    activation: o.activation,
    layers,
    classWeights: cw,
    bestEpoch: best.epoch,
    epochsRun: epoch,
    stoppedEarly,
    bestValidationLoss: best.loss,
    history,
    hyperparameters: hyperparameterRecord(o),
  };
}

function hyperparameterRecord(o: TrainOptions): Record<string, number | string> {
  const cw = o.classWeighting;
  return {
    model: o.hiddenUnits.length === 0 ? 'logistic-regression' : 'mlp',
    hiddenUnits: o.hiddenUnits.join(',') || 'none',
    activation: o.activation,
    standardization: o.standardization,
    nanImputation: 'training-median',
    classWeighting: cw.kind === 'explicit' ? `explicit:${cw.positive}/${cw.negative}` : cw.kind,
    optimizer: 'adam',
    learningRate: o.learningRate,
    beta1: o.beta1,
    beta2: o.beta2,
    adamEpsilon: o.adamEpsilon,
    l2: o.l2,
    maxEpochs: o.maxEpochs,
    batchSize: o.batchSize,
    shuffle: o.shuffle ? 'seeded-per-epoch' : 'fixed-order',
    patience: o.patience,
    minDelta: o.minDelta,
    seed: o.seed,
  };
}

/** p(positive) for row-major raw features x [n, F] (NaN imputed), float64 with the training math. */
export function predictProba(model: TrainedClassifier, x: Float64Array): Float64Array {
  const f = model.featureNames.length;
  if (x.length % f !== 0) throw new TrainingError('BAD_DATA', `x length ${x.length} not a multiple of ${f}`);
  const n = x.length / f;
  const xs = applyStandardizer(model.standardizer, x);
  const chunk = 256;
  const buf = makeBuffers(model.layers, chunk, f);
  const out = new Float64Array(n);
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    (buf.acts[0] as Float64Array).set(xs.subarray(start * f, (start + rows) * f));
    forward(model.layers, model.activation, buf, rows);
    const logits = buf.acts[model.layers.length] as Float64Array;
    for (let r = 0; r < rows; r++) out[start + r] = dsigmoid(logits[r] as number);
  }
  return out;
}
