// Metric sets, per-cohort metrics, bootstrap intervals and acceptance criteria for the evidence
// file (manifest.ts MetricSet, AcceptanceCriterion, EvidenceSummary).
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import type { AcceptanceCriterion, EvidenceSummary, MetricSet } from '../format/manifest.ts';
import { seededRng } from '../training/index.ts';
import { expectedCalibrationError } from './calibration.ts';
import { EvaluationError } from './errors.ts';
import { checkScoresLabels, confusionAt, rocAuc, sensitivity, specificity } from './metrics.ts';
import type { Labels, Scores } from './metrics.ts';

export type CohortMetricSet = { readonly cohort: string } & MetricSet;

/** n, sensitivity and specificity at `threshold` (score ≥ threshold), ROC AUC, ECE (10 bins). */
export function metricSet(scores: Scores, labels: Labels, threshold: number): MetricSet {
  checkScoresLabels(scores, labels, true);
  const c = confusionAt(scores, labels, threshold);
  return {
    n: labels.length,
    sensitivity: sensitivity(c),
    specificity: specificity(c),
    rocAuc: rocAuc(scores, labels),
    ece: expectedCalibrationError(scores, labels),
  };
}

/** One MetricSet per cohort value, sorted by cohort name (UTF-16 code-unit order). */
export function cohortMetrics(
  scores: Scores,
  labels: Labels,
  cohorts: readonly string[],
  threshold: number,
): CohortMetricSet[] {
  if (cohorts.length !== labels.length) {
    throw new EvaluationError('BAD_INPUT', `${cohorts.length} cohort labels for ${labels.length} examples`);
  }
  const groups = new Map<string, number[]>();
  cohorts.forEach((cohort, i) => {
    const list = groups.get(cohort);
    if (list === undefined) groups.set(cohort, [i]);
    else list.push(i);
  });
  const names = [...groups.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.map((cohort) => {
    const idx = groups.get(cohort) ?? [];
    const s = idx.map((i) => scores[i] as number);
    const y = idx.map((i) => labels[i] as number);
    return { cohort, ...metricSet(s, y, threshold) };
  });
}

export interface BootstrapOptions {
  readonly seed: number;
  readonly replicates: number;
  /** Two-sided coverage, e.g. 0.95. */
  readonly level: number;
}

export interface ConfidenceInterval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  readonly level: number;
  readonly replicates: number;
}

/**
 * Percentile bootstrap, stratified by class (positives and negatives are resampled separately,
 * keeping n₊ and n₋, so AUC, sensitivity and specificity stay defined in every replicate). Bounds are
 * order statistics at ⌊(α/2)·B⌋ and ⌈(1 − α/2)·B⌉ − 1 of the sorted finite replicates.
 */
export function bootstrapInterval(
  scores: Scores,
  labels: Labels,
  statistic: (scores: Float64Array, labels: Uint8Array) => number,
  options: BootstrapOptions,
): ConfidenceInterval {
  checkScoresLabels(scores, labels, false);
  const { replicates, level } = options;
  if (!Number.isSafeInteger(replicates) || replicates < 10 || replicates > 1_000_000) {
    throw new EvaluationError('BAD_ARGUMENT', `replicates ${replicates} not in [10, 1e6]`);
  }
  if (!(level > 0 && level < 1)) throw new EvaluationError('BAD_ARGUMENT', `level ${level} not in (0, 1)`);
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? pos : neg).push(i);
  const n = labels.length;
  const estimate = statistic(Float64Array.from(scores), Uint8Array.from(labels));
  const rng = seededRng(options.seed, 'bootstrap');
  const values: number[] = [];
  const s = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let b = 0; b < replicates; b++) {
    let k = 0;
    for (const group of [pos, neg]) {
      for (let i = 0; i < group.length; i++) {
        const src = group[uniformInt(rng, 0, group.length - 1)] as number;
        s[k] = scores[src] as number;
        y[k] = labels[src] as number;
        k++;
      }
    }
    const v = statistic(s, y);
    if (!Number.isNaN(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  const alpha = 1 - level;
  const m = values.length;
  const lower = m === 0 ? Number.NaN : (values[Math.min(m - 1, Math.floor((alpha / 2) * m))] as number);
  const upper = m === 0 ? Number.NaN : (values[Math.max(0, Math.ceil((1 - alpha / 2) * m) - 1)] as number);
  return { estimate, lower, upper, level, replicates };
}

export type MetricName = keyof MetricSet;
const METRIC_NAMES: readonly MetricName[] = ['n', 'sensitivity', 'specificity', 'rocAuc', 'ece'];

/**
 * A declared acceptance criterion. `metric` is one of
 *   test.<m>            the held-out test set
 *   cohort.<name>.<m>   one cohort (the name may contain dots; the metric is after the last one)
 *   cohorts.min.<m>     the worst cohort value … over cohorts where <m> is defined (not NaN)
 *   cohorts.max.<m>     … and the largest (e.g. the worst ECE)
 * with <m> ∈ n | sensitivity | specificity | rocAuc | ece. An undefined (NaN) observed value fails.
 */
export interface AcceptanceSpec {
  readonly metric: string;
  readonly comparator: '>=' | '<=';
  readonly threshold: number;
}

function metricName(raw: string, spec: string): MetricName {
  const found = METRIC_NAMES.find((m) => m === raw);
  if (found === undefined) throw new EvaluationError('UNKNOWN_METRIC', `unknown metric in ${spec}`);
  return found;
}

function observedValue(spec: string, testSet: MetricSet, perCohort: readonly CohortMetricSet[]): number {
  if (spec.startsWith('test.')) return testSet[metricName(spec.slice(5), spec)];
  const aggregate = /^cohorts\.(min|max)\.(.+)$/.exec(spec);
  if (aggregate !== null) {
    const m = metricName(aggregate[2] ?? '', spec);
    if (perCohort.length === 0) throw new EvaluationError('UNKNOWN_METRIC', `${spec}: no cohorts`);
    const defined = perCohort.map((c) => c[m]).filter((v) => !Number.isNaN(v));
    if (defined.length === 0) return Number.NaN;
    return aggregate[1] === 'min' ? Math.min(...defined) : Math.max(...defined);
  }
  if (spec.startsWith('cohort.')) {
    const rest = spec.slice(7);
    const dot = rest.lastIndexOf('.');
    const m = metricName(rest.slice(dot + 1), spec);
    const name = rest.slice(0, Math.max(dot, 0));
    const cohort = perCohort.find((c) => c.cohort === name);
    if (dot <= 0 || cohort === undefined)
      throw new EvaluationError('UNKNOWN_METRIC', `unknown cohort in ${spec}`);
    return cohort[m];
  }
  throw new EvaluationError('UNKNOWN_METRIC', `unknown metric ${spec}`);
}

export function evaluateAcceptance(
  testSet: MetricSet,
  perCohort: readonly CohortMetricSet[],
  specs: readonly AcceptanceSpec[],
): AcceptanceCriterion[] {
  return specs.map((spec) => {
    if (!Number.isFinite(spec.threshold)) {
      throw new EvaluationError('BAD_ARGUMENT', `${spec.metric}: threshold must be finite`);
    }
    // Specs may come from an untyped config file.
    if (!(['>=', '<='] as readonly string[]).includes(spec.comparator)) {
      throw new EvaluationError('BAD_ARGUMENT', `${spec.metric}: comparator must be >= or <=`);
    }
    const observed = observedValue(spec.metric, testSet, perCohort);
    const passed =
      !Number.isNaN(observed) &&
      (spec.comparator === '>=' ? observed >= spec.threshold : observed <= spec.threshold);
    return { metric: spec.metric, comparator: spec.comparator, threshold: spec.threshold, observed, passed };
  });
}

/** The manifest's evidence summary; allPassed is false when there is no criterion at all. */
export function buildEvidenceSummary(
  testSet: MetricSet,
  perCohort: readonly CohortMetricSet[],
  specs: readonly AcceptanceSpec[],
): EvidenceSummary {
  const acceptance = evaluateAcceptance(testSet, perCohort, specs);
  return {
    testSet,
    perCohort,
    acceptance,
    allPassed: acceptance.length > 0 && acceptance.every((c) => c.passed),
  };
}
