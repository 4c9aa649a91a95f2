// Labelled feature matrices as the trainer consumes them, and their validation.
import { TrainingError } from './errors.ts';

/** n examples × F features, row-major; NaN marks a feature that could not be computed. */
export interface LabeledData {
  readonly featureNames: readonly string[];
  /** Row-major [n, F]. */
  readonly x: Float64Array;
  /** 0 = negative, 1 = positive. */
  readonly y: Uint8Array;
}

export function rowCount(data: LabeledData): number {
  return data.y.length;
}

/** Checks shapes, labels in {0,1} and that no feature is ±Infinity (NaN is allowed: it is imputed). */
export function checkLabeledData(data: LabeledData, what: string): void {
  const f = data.featureNames.length;
  if (f < 1) throw new TrainingError('BAD_DATA', `${what}: no features`);
  if (new Set(data.featureNames).size !== f) {
    throw new TrainingError('BAD_DATA', `${what}: duplicate feature names`);
  }
  if (data.x.length !== data.y.length * f) {
    throw new TrainingError(
      'BAD_DATA',
      `${what}: x has ${data.x.length} values, expected ${data.y.length} × ${f}`,
    );
  }
  for (const label of data.y) {
    if (label !== 0 && label !== 1) throw new TrainingError('BAD_DATA', `${what}: label ${label} not 0/1`);
  }
  for (const v of data.x) {
    if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
      throw new TrainingError('BAD_DATA', `${what}: infinite feature value`);
    }
  }
}

export function classCounts(y: Uint8Array): { readonly positive: number; readonly negative: number } {
  let positive = 0;
  for (const label of y) positive += label;
  return { positive, negative: y.length - positive };
}

/** Rows `indices` of `data`, in that order. */
export function selectRows(data: LabeledData, indices: readonly number[]): LabeledData {
  const f = data.featureNames.length;
  const x = new Float64Array(indices.length * f);
  const y = new Uint8Array(indices.length);
  indices.forEach((row, k) => {
    x.set(data.x.subarray(row * f, row * f + f), k * f);
    y[k] = data.y[row] ?? 0;
  });
  return { featureNames: data.featureNames, x, y };
}
