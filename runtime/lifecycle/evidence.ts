// The rollout evidence and its judgement, as pure functions over counters (docs/lifecycle.md
// "Shadow", "Probation"): shadow agreement and per-status statistics against the bundle's signed
// rollout policy, and probation health (inference errors, deadline misses, fallback rate, latency p99).
import type { RolloutPolicy } from '../../models/format/index.ts';
import type { ResultStatus, WindowResult } from '../pipeline/index.ts';
import type { ProbationCounters, ShadowCounters, StatusCounts } from '../state/index.ts';

/** Fallbacks the runtime forced (revocation, drift suppression): not evidence about the model. */
export function isForcedFallback(status: ResultStatus): boolean {
  return (
    status.kind === 'fallback' &&
    (status.reason === 'MODEL_REVOKED' || status.reason === 'OUTPUTS_SUPPRESSED')
  );
}

/** An alert as the firmware would see it: a model alert, or the declared rule firing. */
export function isAlert(status: ResultStatus): boolean {
  switch (status.kind) {
    case 'ok':
      return status.alert;
    case 'indeterminate':
      return false;
    case 'fallback':
      return status.output.kind === 'rule' && status.output.positive;
  }
}

export function countStatus(counts: StatusCounts, status: ResultStatus): StatusCounts {
  return {
    ok: counts.ok + (status.kind === 'ok' ? 1 : 0),
    indeterminate: counts.indeterminate + (status.kind === 'indeterminate' ? 1 : 0),
    fallback: counts.fallback + (status.kind === 'fallback' ? 1 : 0),
    alerts: counts.alerts + (isAlert(status) ? 1 : 0),
  };
}

/**
 * Candidate and active agree on a window when they give the same kind of answer and, when both are
 * model outputs, the same label (RolloutPolicy.shadowMinAgreement: "agree on status and label").
 */
export function agree(active: ResultStatus, candidate: ResultStatus): boolean {
  if (active.kind !== candidate.kind) return false;
  if (active.kind === 'ok' && candidate.kind === 'ok') return active.positive === candidate.positive;
  return true;
}

export function addShadowPair(
  c: ShadowCounters,
  active: WindowResult,
  candidate: WindowResult,
): ShadowCounters {
  return {
    windows: c.windows + 1,
    agreements: c.agreements + (agree(active.status, candidate.status) ? 1 : 0),
    active: countStatus(c.active, active.status),
    candidate: countStatus(c.candidate, candidate.status),
  };
}

export interface ShadowMetrics {
  readonly windows: number;
  readonly agreement: number;
  readonly activeFallbackRate: number;
  readonly candidateFallbackRate: number;
  readonly fallbackRateIncrease: number;
  readonly alertIncreasePer1k: number;
}

export interface PromotionCheck {
  readonly ready: boolean;
  /** Each criterion not met, in words (audit records and `vigil status`). */
  readonly unmet: readonly string[];
  readonly metrics: ShadowMetrics;
}

export function shadowMetrics(c: ShadowCounters): ShadowMetrics {
  const n = c.windows;
  const rate = (x: number) => (n === 0 ? 0 : x / n);
  return {
    windows: n,
    agreement: rate(c.agreements),
    activeFallbackRate: rate(c.active.fallback),
    candidateFallbackRate: rate(c.candidate.fallback),
    fallbackRateIncrease: rate(c.candidate.fallback) - rate(c.active.fallback),
    alertIncreasePer1k: n === 0 ? 0 : ((c.candidate.alerts - c.active.alerts) / n) * 1000,
  };
}

/** The promotion criteria of the bundle's signed rollout policy. */
export function promotionCheck(c: ShadowCounters, policy: RolloutPolicy): PromotionCheck {
  const m = shadowMetrics(c);
  const unmet: string[] = [];
  if (m.windows < policy.shadowMinWindows)
    unmet.push(`${m.windows} of ${policy.shadowMinWindows} shadow windows`);
  if (m.windows === 0 || m.agreement < policy.shadowMinAgreement) {
    unmet.push(`agreement ${fmt(m.agreement)} below ${policy.shadowMinAgreement}`);
  }
  if (m.fallbackRateIncrease > policy.maxFallbackRateIncrease) {
    unmet.push(`fallback rate up ${fmt(m.fallbackRateIncrease)} (at most ${policy.maxFallbackRateIncrease})`);
  }
  if (m.alertIncreasePer1k > policy.maxAlertRateIncreasePer1k) {
    unmet.push(
      `alerts up ${fmt(m.alertIncreasePer1k)} per 1000 windows (at most ${policy.maxAlertRateIncreasePer1k})`,
    );
  }
  return { ready: unmet.length === 0, unmet, metrics: m };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(4);
}

/**
 * Fallbacks that count against a bundle in probation: all but the forced ones and the quality gate's.
 * Quality-gate fallbacks (sensor off, lead-off, flatline, motion) describe the wearer's signal, not
 * the bundle: on one device they would roll back any model while the wearer takes the device off. A
 * bundle whose quality policy is too strict shows up in shadow instead, where the candidate's
 * fallback rate is compared with the active model's on the same windows.
 */
export function countsAgainstProbation(status: ResultStatus): boolean {
  return status.kind === 'fallback' && !isForcedFallback(status) && !status.reason.startsWith('QUALITY_');
}

export function addProbationResult(
  c: ProbationCounters,
  result: WindowResult,
  policy: RolloutPolicy['probation'],
): ProbationCounters {
  const s = result.status;
  return {
    windows: c.windows + 1,
    inferenceErrors: c.inferenceErrors + (s.kind === 'fallback' && s.reason === 'INFERENCE_ERROR' ? 1 : 0),
    deadlineMisses: c.deadlineMisses + (s.kind === 'fallback' && s.reason === 'DEADLINE_MISS' ? 1 : 0),
    fallbacks: c.fallbacks + (countsAgainstProbation(s) ? 1 : 0),
    slowWindows: c.slowWindows + (result.latencyMs > policy.maxLatencyP99Ms ? 1 : 0),
  };
}

export type ProbationVerdict =
  | { readonly kind: 'running' }
  | { readonly kind: 'passed' }
  | { readonly kind: 'breached'; readonly breaches: readonly string[] };

/**
 * Counts breach at once; the fallback rate and latency p99 are judged once `minRateWindows` results
 * are in (rates of a handful of windows say little). Latency uses the nearest-rank p99: it exceeds
 * the bound exactly when more than n − ⌈0.99 n⌉ results were slower than it.
 */
export function judgeProbation(
  c: ProbationCounters,
  policy: RolloutPolicy['probation'],
  minRateWindows: number,
): ProbationVerdict {
  const breaches: string[] = [];
  if (c.inferenceErrors > policy.maxInferenceErrors) {
    breaches.push(`${c.inferenceErrors} inference errors (at most ${policy.maxInferenceErrors})`);
  }
  if (c.deadlineMisses > policy.maxDeadlineMisses) {
    breaches.push(`${c.deadlineMisses} deadline misses (at most ${policy.maxDeadlineMisses})`);
  }
  const judgeRates = c.windows >= Math.min(minRateWindows, policy.windows);
  if (judgeRates && c.fallbacks / c.windows > policy.maxFallbackRate) {
    breaches.push(`fallback rate ${fmt(c.fallbacks / c.windows)} (at most ${policy.maxFallbackRate})`);
  }
  if (judgeRates && c.slowWindows > c.windows - Math.ceil(0.99 * c.windows)) {
    breaches.push(
      `latency p99 above ${policy.maxLatencyP99Ms} ms (${c.slowWindows} of ${c.windows} results slower)`,
    );
  }
  if (breaches.length > 0) return { kind: 'breached', breaches };
  return c.windows >= policy.windows ? { kind: 'passed' } : { kind: 'running' };
}
