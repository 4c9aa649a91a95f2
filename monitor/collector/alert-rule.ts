// The drift alert rule (docs/collector.md "Alert rule"), pure functions over one evaluation window:
//
// 1. For a model version and role, merge the window's counts per group (cohort by default) and test
//    every (group, variable) against the reference (fleet-drift.ts: two-sample χ² p-value, policy
//    statistics against n-aware thresholds at n_eff).
// 2. Control the false-discovery rate across all those tests with Benjamini–Hochberg (or BY).
// 3. A FINDING is a test that BH rejects, where a policy statistic exceeds its threshold, and whose
//    PSI reaches the effect-size floor (so a clinically negligible but significant shift at n ~ 10⁶
//    does not page anyone).
// 4. An alert opens when the same (model, role, group, variable) has a finding in `consecutiveWindows`
//    evaluated windows in a row. Windows where the group had too little data neither count nor reset.
import { falseDiscoveryControl, type DriftStatisticName } from '../stats/index.ts';
import type { Aggregate } from './aggregate.ts';
import { variableDrift, type VariableDrift } from './fleet-drift.ts';
import type { AlertRuleOptions } from './options.ts';
import type { PreparedProfile } from './profiles.ts';
import type { FindingWindow, StreakState } from './types.ts';

export interface GroupCounts {
  readonly value: string;
  readonly aggregate: Aggregate;
}

export interface TestResult {
  readonly group: string;
  readonly drift: VariableDrift;
  /** BH/BY-adjusted p-value (1 when the variable was not tested). */
  readonly qValue: number;
  readonly finding: boolean;
  /** A finding of the group that disappears without its most divergent device: not counted. */
  readonly carriedByOneDevice?: boolean;
}

export interface WindowTests {
  readonly tests: number;
  readonly results: readonly TestResult[];
}

export function minNFor(rule: AlertRuleOptions, profile: PreparedProfile): number {
  return rule.minN ?? profile.minN;
}

/** Tests every (group, variable) of one window and applies FDR control and the finding criteria. */
export function testWindow(
  profile: PreparedProfile,
  groups: readonly GroupCounts[],
  statistics: readonly DriftStatisticName[],
  rule: AlertRuleOptions,
  epsilon?: number,
  /** Per group: the design effect of each variable (fleet-drift.ts designEffect); default 1. */
  designEffects?: ReadonlyMap<string, readonly number[]>,
  /** Per group and variable: counts over the per-device weight cap, taken off (capDeviceWeights). */
  excess?: ReadonlyMap<string, readonly (Float64Array | null)[]>,
  /**
   * Per group and variable: the (capped) counts of the device farthest from the reference, when the
   * group has two devices or more. A finding must survive without it: a cohort alert never rests on
   * one device (a broken sensor is that device's problem, not the cohort's).
   */
  mostDivergent?: ReadonlyMap<string, readonly (Float64Array | null)[]>,
): WindowTests {
  const minN = minNFor(rule, profile);
  const drifts: { group: string; drift: VariableDrift; without: (() => VariableDrift) | null }[] = [];
  for (const g of groups) {
    for (const v of profile.variables) {
      const over = excess?.get(g.value)?.[v.index] ?? null;
      const counts =
        over === null ? g.aggregate.variable(v.index) : subtract(g.aggregate.variable(v.index), over);
      const deff = designEffects?.get(g.value)?.[v.index];
      const options = {
        statistics,
        minN,
        ...(epsilon === undefined ? {} : { epsilon }),
        ...(deff === undefined ? {} : { designEffect: deff }),
      };
      const drift = variableDrift(v, counts, options);
      const one = mostDivergent?.get(g.value)?.[v.index] ?? null;
      const without = one === null ? null : () => variableDrift(v, subtract(counts, one), options);
      drifts.push({ group: g.value, drift, without });
    }
  }
  const tested = drifts.filter((d) => d.drift.kind === 'tested');
  const fdr =
    tested.length > 0
      ? falseDiscoveryControl(
          tested.map((d) => d.drift.pValue),
          rule.fdr,
          rule.fdrMethod,
        )
      : null;
  const q = new Map<(typeof drifts)[number], number>();
  tested.forEach((d, i) => q.set(d, fdr?.qValues[i] ?? 1));
  const results = drifts.map((d): TestResult => {
    const qValue = q.get(d) ?? 1;
    const finding =
      d.drift.kind === 'tested' &&
      qValue <= rule.fdr &&
      d.drift.exceeded.length > 0 &&
      (d.drift.statistics.psi ?? 0) >= rule.minPsi;
    if (finding && d.without !== null) {
      const rest = d.without();
      // Only a group still large enough to test without the device can overrule its finding: a small
      // group's finding stands at face value (there is nothing to compare the device with).
      const survives =
        rest.kind !== 'tested' || (rest.exceeded.length > 0 && (rest.statistics.psi ?? 0) >= rule.minPsi);
      if (!survives)
        return { group: d.group, drift: d.drift, qValue, finding: false, carriedByOneDevice: true };
    }
    return { group: d.group, drift: d.drift, qValue, finding };
  });
  return { tests: tested.length, results };
}

export function findingWindow(
  result: TestResult,
  startMs: number,
  endMs: number,
  tests: number,
): FindingWindow {
  const d = result.drift;
  return {
    startMs,
    endMs,
    n: d.n,
    nEffective: d.nEffective,
    designEffect: d.designEffect,
    statistics: { ...d.statistics },
    thresholds: { ...d.thresholds },
    pValue: d.pValue,
    qValue: result.qValue,
    tests,
  };
}

export type StreakStep =
  /** Not enough data in this window: nothing changes. */
  | { readonly kind: 'skipped'; readonly state: StreakState | null }
  | { readonly kind: 'cleared'; readonly state: StreakState }
  /** A finding; `fire` when the streak reached the rule's length in this step or before. */
  | { readonly kind: 'finding'; readonly state: StreakState; readonly reached: boolean };

/** Maximum finding windows kept in a streak's evidence. */
export const MAX_STREAK_WINDOWS = 48;

/** Advances one (model, role, group, variable) by one evaluated window. */
export function advanceStreak(
  key: string,
  previous: StreakState | null,
  result: TestResult,
  window: FindingWindow,
  rule: AlertRuleOptions,
): StreakStep {
  if (result.drift.kind !== 'tested') return { kind: 'skipped', state: previous };
  if (!result.finding) {
    return { kind: 'cleared', state: { key, streak: 0, lastWindowMs: window.startMs, windows: [] } };
  }
  const windows = [...(previous?.windows ?? []), window].slice(-MAX_STREAK_WINDOWS);
  const streak = (previous?.streak ?? 0) + 1;
  return {
    kind: 'finding',
    state: { key, streak, lastWindowMs: window.startMs, windows },
    reached: streak >= rule.consecutiveWindows,
  };
}

export function alertKey(
  manifestSha256: string,
  role: string,
  dimension: string,
  group: string,
  variableIndex: number,
): string {
  return `${manifestSha256}|${role}|${dimension}=${group}|${variableIndex}`;
}

function subtract(counts: ArrayLike<number>, over: Float64Array): Float64Array {
  const out = Float64Array.from(counts);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, (out[i] as number) - (over[i] ?? 0));
  return out;
}
