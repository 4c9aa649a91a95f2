import { describe, expect, it } from 'vitest';
import type { MetricSet } from '../../../../models/format/manifest.ts';
import {
  EvaluationError,
  bootstrapInterval,
  buildEvidenceSummary,
  cohortMetrics,
  evaluateAcceptance,
  metricSet,
  rocAuc,
} from '../../../../models/evaluation/index.ts';
import type { CohortMetricSet } from '../../../../models/evaluation/index.ts';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof EvaluationError ? e.code : 'other';
  }
  return undefined;
}

const scores = [0.9, 0.8, 0.4, 0.3, 0.7, 0.2, 0.1, 0.6];
const labels = [1, 1, 1, 0, 0, 0, 0, 1];
const cohorts = ['young', 'old', 'young', 'old', 'young', 'old', 'young', 'old.frail'];

describe('metric sets and cohorts', () => {
  it('computes the manifest MetricSet', () => {
    const m = metricSet(scores, labels, 0.5);
    expect(m.n).toBe(8);
    expect(m.sensitivity).toBe(0.75);
    expect(m.specificity).toBe(0.75);
    expect(m.rocAuc).toBe(rocAuc(scores, labels));
    expect(m.ece).toBeGreaterThan(0);
  });

  it('splits by cohort, sorted by name, NaN where a class is missing', () => {
    const per = cohortMetrics(scores, labels, cohorts, 0.5);
    expect(per.map((c) => c.cohort)).toEqual(['old', 'old.frail', 'young']);
    expect(per[0]?.n).toBe(3);
    expect(per[1]?.n).toBe(1);
    expect(Number.isNaN(per[1]?.specificity)).toBe(true);
    expect(codeOf(() => cohortMetrics(scores, labels, ['a'], 0.5))).toBe('BAD_INPUT');
  });
});

describe('acceptance criteria and evidence summary', () => {
  const testSet: MetricSet = { n: 100, sensitivity: 0.92, specificity: 0.85, rocAuc: 0.95, ece: 0.04 };
  const perCohort: CohortMetricSet[] = [
    { cohort: 'a.b', n: 50, sensitivity: 0.9, specificity: 0.8, rocAuc: 0.93, ece: 0.06 },
    { cohort: 'c', n: 50, sensitivity: Number.NaN, specificity: 0.9, rocAuc: Number.NaN, ece: 0.02 },
  ];

  it('evaluates test, named-cohort and worst-cohort criteria', () => {
    const result = evaluateAcceptance(testSet, perCohort, [
      { metric: 'test.sensitivity', comparator: '>=', threshold: 0.9 },
      { metric: 'test.ece', comparator: '<=', threshold: 0.05 },
      { metric: 'cohort.a.b.specificity', comparator: '>=', threshold: 0.85 },
      { metric: 'cohorts.min.sensitivity', comparator: '>=', threshold: 0.85 },
      { metric: 'cohorts.max.ece', comparator: '<=', threshold: 0.05 },
      { metric: 'cohort.c.sensitivity', comparator: '>=', threshold: 0.5 },
    ]);
    expect(result.map((r) => [r.observed, r.passed])).toEqual([
      [0.92, true],
      [0.04, true],
      [0.8, false],
      [0.9, true], // the cohort without positives is skipped by min
      [0.06, false],
      [Number.NaN, false], // undefined never passes
    ]);
    expect(result[0]).toEqual({
      metric: 'test.sensitivity',
      comparator: '>=',
      threshold: 0.9,
      observed: 0.92,
      passed: true,
    });
  });

  it('builds the EvidenceSummary with allPassed', () => {
    const ok = buildEvidenceSummary(testSet, perCohort, [
      { metric: 'test.rocAuc', comparator: '>=', threshold: 0.9 },
    ]);
    expect(ok.allPassed).toBe(true);
    expect(ok.testSet).toBe(testSet);
    expect(ok.perCohort).toBe(perCohort);
    const bad = buildEvidenceSummary(testSet, perCohort, [
      { metric: 'test.rocAuc', comparator: '>=', threshold: 0.9 },
      { metric: 'test.specificity', comparator: '>=', threshold: 0.9 },
    ]);
    expect(bad.allPassed).toBe(false);
    expect(buildEvidenceSummary(testSet, perCohort, []).allPassed).toBe(false);
  });

  it('rejects unknown metrics and cohorts', () => {
    for (const metric of ['test.auc', 'cohort.zzz.ece', 'cohort.ece', 'cohorts.median.ece', 'train.ece']) {
      expect(
        codeOf(() => evaluateAcceptance(testSet, perCohort, [{ metric, comparator: '>=', threshold: 0 }])),
      ).toBe('UNKNOWN_METRIC');
    }
    expect(
      codeOf(() =>
        evaluateAcceptance(testSet, perCohort, [
          { metric: 'test.ece', comparator: '>=', threshold: Number.NaN },
        ]),
      ),
    ).toBe('BAD_ARGUMENT');
  });
});

describe('stratified percentile bootstrap', () => {
  it('is seeded, brackets the estimate and keeps both classes in every replicate', () => {
    const opts = { seed: 4, replicates: 400, level: 0.95 };
    const a = bootstrapInterval(scores, labels, rocAuc, opts);
    const b = bootstrapInterval(scores, labels, rocAuc, opts);
    expect(a).toEqual(b);
    expect(a.estimate).toBe(rocAuc(scores, labels));
    expect(a.lower).toBeLessThanOrEqual(a.estimate);
    expect(a.upper).toBeGreaterThanOrEqual(a.estimate);
    expect(a.upper).toBeLessThanOrEqual(1);
    let defined = 0;
    bootstrapInterval(
      scores,
      labels,
      (s, y) => {
        if (!Number.isNaN(rocAuc(s, y))) defined++;
        return 0;
      },
      opts,
    );
    expect(defined).toBe(401); // the point estimate plus 400 replicates
    expect(codeOf(() => bootstrapInterval(scores, labels, rocAuc, { ...opts, level: 1 }))).toBe(
      'BAD_ARGUMENT',
    );
  });
});
