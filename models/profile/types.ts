// The reference profile shipped in a bundle (docs/model-building.md "Reference profile").
// Plain objects, arrays of numbers and strings only (no classes, no typed arrays), so it encodes
// the same way to CBOR and JSON; key order is fixed by the builder and by parseProfile.
import type { NullThresholdTable } from './nulls.ts';

export const PROFILE_FORMAT_VERSION = 1;

/**
 * Edge rule identifier (bins.ts): min, type-7 quantiles at k/B, next double above max, plus any
 * declared extra edges (e.g. the operating threshold on the score); deduplicated.
 */
export const BINNING_RULE = 'quantile-type7-minmax-extra-dedup-v1';

/** Reference distribution of one input feature or of the model score. */
export interface BinnedReference {
  readonly name: string;
  /** m + 1 finite, strictly increasing edges (bins.ts layout). */
  readonly edges: readonly number[];
  /** m + 3 counts: underflow, m interior bins, overflow, NaN. */
  readonly counts: readonly number[];
  /** counts[i] / n. */
  readonly proportions: readonly number[];
  /** Σ counts (NaN included). */
  readonly n: number;
  /** Mean and sample SD (n − 1) of the non-NaN reference values. */
  readonly mean: number;
  readonly sd: number;
  /** Support of the non-NaN reference values. */
  readonly min: number;
  readonly max: number;
  readonly nullThresholds: NullThresholdTable;
}

/** The null model every variable's table was built with (repeated in each table for the monitor). */
export interface NullModelInfo {
  readonly method: 'monte-carlo';
  /** Statistics use the ordered bins (NaN excluded); n = non-NaN observations. */
  readonly bins: 'ordered';
  readonly alpha: number;
  readonly replicates: number;
  readonly seed: number;
  /** PSI zero-bin ε. */
  readonly epsilon: number;
  readonly sampleSizes: readonly number[];
}

/**
 * Reference (n, Σp̂, Σy) per SCORE bin, in the score's m + 3 layout: the same accumulators the
 * device keeps for performance monitoring (monitor/stats ScoreBins), so they compare and merge
 * directly. n equals score.counts.
 */
export interface CalibrationReference {
  readonly n: readonly number[];
  readonly sumP: readonly number[];
  readonly sumY: readonly number[];
}

export interface ReferenceProfile {
  readonly formatVersion: 1;
  /** Which data the reference came from, e.g. `validation`. */
  readonly referenceSplit: string;
  readonly binning: { readonly rule: string; readonly interiorBins: number };
  readonly nullModel: NullModelInfo;
  /** In the model's feature order. */
  readonly features: readonly BinnedReference[];
  readonly score: BinnedReference;
  /** Null when the reference had no labels. */
  readonly calibration: CalibrationReference | null;
}
