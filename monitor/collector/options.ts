// Collector options: frozen defaults with units in the names, merged with the caller's and validated at
// start (DESIGN.md "Options"). The alert rule's parameters live here too, so that the rule a deployment
// ran is one printable object (docs/collector.md "Alert rule").
import { CollectorError } from './errors.ts';
import { GROUP_DIMENSIONS, type GroupDimension } from './types.ts';

export interface AlertRuleOptions {
  /** False-discovery level across every (group × variable) test of a model version in one window. */
  readonly fdr: number;
  /** Benjamini–Hochberg (default) or Benjamini–Yekutieli (any dependence). */
  readonly fdrMethod: 'bh' | 'by';
  /** Windows in a row (with enough data) in which the finding must hold before an alert opens. */
  readonly consecutiveWindows: number;
  /**
   * Effect-size floor: PSI of the merged counts against the reference. Never used alone (the n-aware
   * test must reject too); it keeps clinically irrelevant but significant shifts out of the alert list.
   */
  readonly minPsi: number;
  /** Observations a group needs in a window to be tested (null: the profile's smallest null-table n). */
  readonly minN: number | null;
  /** The dimension alerts are raised per (besides model version, role and variable). */
  readonly groupBy: GroupDimension;
  /** Devices listed in an alert's evidence (the largest contributors). */
  readonly maxEvidenceDevices: number;
  /**
   * A device weighs at most this many times its group's (lower-)median device in the merged counts
   * a window is tested on (groups of three or more devices): one device cannot raise or mask a drift.
   */
  readonly maxDeviceWeight: number;
}

export interface CollectorOptions {
  /** Rollup and evaluation window (device clock; report intervals should divide it). */
  readonly bucketMs: number;
  /** How long after a window ends it is evaluated (reports of the window may still be arriving). */
  readonly evaluationGraceMs: number;
  /** How often the evaluator and the gap sweep run. */
  readonly evaluateEveryMs: number;
  /** A pending sequence gap older than this is declared lost. */
  readonly gapLostAfterMs: number;
  /** A device with no message for this long shows as offline even without a death message. */
  readonly silentAfterMs: number;
  /** Largest MQTT payload taken (bigger ones are rejected before decoding). */
  readonly maxMessageBytes: number;
  /**
   * Reports ending later than the collector's clock + this are refused (CLOCK_SKEW); null accepts any
   * time (only for simulations and replays of recorded fleets whose clocks run ahead of this one).
   */
  readonly maxClockSkewMs: number | null;
  /** Reports with more windows than their interval × this are refused (IMPLAUSIBLE). */
  readonly maxWindowsPerSecond: number;
  /** Ingest batching: commit after this many messages or this long, whichever comes first. */
  readonly flushMaxMessages: number;
  readonly flushIntervalMs: number;
  /** Messages held in memory before the MQTT reader is paused (back-pressure onto the broker). */
  readonly maxQueuedMessages: number;
  /** Worker threads verifying Ed25519 signatures (0: verify on the main thread). */
  readonly verifyThreads: number;
  /** Journal each message durably before it is acknowledged to the broker (at-least-once). */
  readonly journal: boolean;
  readonly alertRule: AlertRuleOptions;
}

export const ALERT_RULE_DEFAULTS: AlertRuleOptions = Object.freeze({
  fdr: 0.01,
  fdrMethod: 'bh',
  consecutiveWindows: 2,
  minPsi: 0.1,
  minN: null,
  groupBy: 'cohort',
  maxEvidenceDevices: 20,
  maxDeviceWeight: 2,
});

export const COLLECTOR_DEFAULTS: CollectorOptions = Object.freeze({
  bucketMs: 3_600_000,
  evaluationGraceMs: 900_000,
  evaluateEveryMs: 10_000,
  gapLostAfterMs: 6 * 3_600_000,
  silentAfterMs: 2 * 3_600_000,
  maxMessageBytes: 64 * 1024,
  maxClockSkewMs: 10 * 60_000,
  maxWindowsPerSecond: 4,
  flushMaxMessages: 500,
  flushIntervalMs: 50,
  maxQueuedMessages: 20_000,
  verifyThreads: 1,
  journal: true,
  alertRule: ALERT_RULE_DEFAULTS,
});

export type CollectorOptionsInput = Partial<Omit<CollectorOptions, 'alertRule'>> & {
  readonly alertRule?: Partial<AlertRuleOptions>;
};

function positiveInt(name: string, v: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < 1 || v > max) {
    throw new CollectorError('BAD_OPTIONS', `${name} must be an integer in [1, ${max}], got ${v}`);
  }
}

function nonNegativeInt(name: string, v: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > max) {
    throw new CollectorError('BAD_OPTIONS', `${name} must be an integer in [0, ${max}], got ${v}`);
  }
}

/** Merges and validates; throws CollectorError('BAD_OPTIONS'). */
export function resolveCollectorOptions(input: CollectorOptionsInput = {}): CollectorOptions {
  const rule: AlertRuleOptions = { ...ALERT_RULE_DEFAULTS, ...input.alertRule };
  const o: CollectorOptions = { ...COLLECTOR_DEFAULTS, ...input, alertRule: rule };
  positiveInt('bucketMs', o.bucketMs, 31 * 86_400_000);
  if (
    o.bucketMs < 1000 ||
    (o.bucketMs < 86_400_000 ? 86_400_000 % o.bucketMs : o.bucketMs % 86_400_000) !== 0
  ) {
    throw new CollectorError(
      'BAD_OPTIONS',
      'bucketMs must be at least 1 s and divide a day (or be a whole number of days)',
    );
  }
  nonNegativeInt('evaluationGraceMs', o.evaluationGraceMs);
  positiveInt('evaluateEveryMs', o.evaluateEveryMs);
  positiveInt('gapLostAfterMs', o.gapLostAfterMs);
  positiveInt('silentAfterMs', o.silentAfterMs);
  positiveInt('maxMessageBytes', o.maxMessageBytes, 16 * 1024 * 1024);
  if (o.maxClockSkewMs !== null) positiveInt('maxClockSkewMs', o.maxClockSkewMs, 31 * 86_400_000);
  if (!(o.maxWindowsPerSecond > 0 && o.maxWindowsPerSecond <= 1000)) {
    throw new CollectorError(
      'BAD_OPTIONS',
      `maxWindowsPerSecond must be in (0, 1000], got ${o.maxWindowsPerSecond}`,
    );
  }
  positiveInt('flushMaxMessages', o.flushMaxMessages, 100_000);
  positiveInt('flushIntervalMs', o.flushIntervalMs, 60_000);
  positiveInt('maxQueuedMessages', o.maxQueuedMessages, 10_000_000);
  nonNegativeInt('verifyThreads', o.verifyThreads, 64);
  if (typeof o.journal !== 'boolean') throw new CollectorError('BAD_OPTIONS', 'journal must be a boolean');
  if (!(rule.fdr > 0 && rule.fdr < 1))
    throw new CollectorError('BAD_OPTIONS', 'alertRule.fdr must be in (0, 1)');
  if (!['bh', 'by'].includes(rule.fdrMethod)) {
    throw new CollectorError('BAD_OPTIONS', 'alertRule.fdrMethod must be bh or by');
  }
  positiveInt('alertRule.consecutiveWindows', rule.consecutiveWindows, 1000);
  if (!(rule.minPsi >= 0) || !Number.isFinite(rule.minPsi)) {
    throw new CollectorError('BAD_OPTIONS', 'alertRule.minPsi must be a finite number >= 0');
  }
  if (rule.minN !== null) positiveInt('alertRule.minN', rule.minN);
  if (!(GROUP_DIMENSIONS as readonly string[]).includes(rule.groupBy)) {
    throw new CollectorError(
      'BAD_OPTIONS',
      `alertRule.groupBy must be one of ${GROUP_DIMENSIONS.join(', ')}`,
    );
  }
  positiveInt('alertRule.maxEvidenceDevices', rule.maxEvidenceDevices, 1000);
  if (!(rule.maxDeviceWeight >= 1 && rule.maxDeviceWeight <= 1e6)) {
    throw new CollectorError('BAD_OPTIONS', 'alertRule.maxDeviceWeight must be in [1, 1e6]');
  }
  return Object.freeze({ ...o, alertRule: Object.freeze(rule) });
}

/** The alert rule in one sentence, stored with every alert (what rule raised it). */
export function describeAlertRule(rule: AlertRuleOptions, bucketMs: number): string {
  const minutes = bucketMs / 60_000;
  const window =
    minutes >= 60 ? `${minutes / 60} h` : minutes >= 1 ? `${minutes} min` : `${bucketMs / 1000} s`;
  return (
    `Per model version, role, ${rule.groupBy} and variable: in each ${window} window, the merged counts ` +
    `are compared with the reference profile by a two-sample χ² test (the group's counts divided by ` +
    `its design effect, devices as clusters, no device weighing more than ${rule.maxDeviceWeight}× the ` +
    `group's median device); the p-values of all ` +
    `(${rule.groupBy} × variable) tests of the model version in the window go through ` +
    `${rule.fdrMethod === 'bh' ? 'Benjamini–Hochberg' : 'Benjamini–Yekutieli'} at q = ${rule.fdr}. A finding ` +
    `is a rejected test whose PSI is at least ${rule.minPsi} and where a policy statistic exceeds its ` +
    `sample-size-aware threshold, and that still holds without the group's most divergent device (an ` +
    `alert never rests on one device). An alert opens after ${rule.consecutiveWindows} consecutive windows ` +
    `with a finding (windows with fewer than ${rule.minN ?? "the profile's smallest null-table n"} ` +
    `observations neither count nor reset).`
  );
}
