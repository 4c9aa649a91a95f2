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
): WindowTests {
  const minN = minNFor(rule, profile);
  const drifts: { group: string; drift: VariableDrift }[] = [];
  for (const g of groups) {
    for (const v of profile.variables) {
      const counts = g.aggregate.variable(v.index);
      const deff = designEffects?.get(g.value)?.[v.index];
      const drift = variableDrift(v, counts, {
        statistics,
        minN,
        ...(epsilon === undefined ? {} : { epsilon }),
        ...(deff === undefined ? {} : { designEffect: deff }),
      });
      drifts.push({ group: g.value, drift });
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
