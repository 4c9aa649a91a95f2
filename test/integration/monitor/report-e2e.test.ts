// End to end against an independent implementation: fixed windows (features, scores, statuses,
// labels) drawn by NumPy against the committed fall-detector profile go through the DeviceMonitor,
// a signed report, verification and decoding; the decoded counts must equal NumPy's exactly, and the
// statistics computed from the report with monitor/stats must equal SciPy's (fixtures/
// gen_report_reference.py writes report-reference.json; this test never runs Python).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeviceMonitor, type MonitoredResult } from '../../../monitor/device/index.ts';
import { signReport, sumPFromMicro, verifyReport } from '../../../monitor/report/index.ts';
import {
  cbpeEstimate,
  confusionFromScoreBins,
  driftStatistics,
  expectedCalibrationError,
  observedExpected,
  prepareReference,
  sensitivity,
  specificity,
} from '../../../monitor/stats/index.ts';
import { EXAMPLE_KID, exampleKey } from '../../unit/monitor/report/example.ts';
import { referenceModel } from '../../unit/monitor/device/helpers.ts';

interface FixtureWindow {
  readonly features: (number | null)[] | null;
  readonly score: number | null;
  readonly status: 'ok' | 'indeterminate' | 'fallback';
  readonly reason: string | null;
}
interface DriftExpected {
  readonly n: number;
  readonly psi: number;
  readonly js: number;
  readonly ks: number;
  readonly wasserstein: number;
  readonly chi2: number;
  readonly chi2P: number;
}
interface Fixture {
  readonly operatingThreshold: number;
  readonly windows: FixtureWindow[];
  readonly labels: { index: number; value: 0 | 1 }[];
  readonly expected: {
    readonly windows: { ok: number; indeterminate: number; fallback: number };
    readonly fallbackReasons: Record<string, number>;
    readonly features: number[][];
    readonly scoreCounts: number[];
    readonly scoreSumPMicro: number[];
    readonly labels: { n: number[]; sumPMicro: number[]; sumY: number[]; unscored: number };
    readonly confusion: { tp: number; fp: number; tn: number; fn: number };
    readonly sensitivity: number;
    readonly specificity: number;
    readonly ece: number;
    readonly observedExpected: number;
    readonly cbpe: { sensitivity: number; specificity: number; expectedTp: number; expectedFn: number };
    readonly drift: DriftExpected[];
  };
}

const fixture = JSON.parse(
  fs.readFileSync(path.join(import.meta.dirname, 'fixtures/report-reference.json'), 'utf8'),
) as Fixture;

function close(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.abs(expected) + 1e-12);
}

describe('report from known windows vs NumPy/SciPy', () => {
  it('carries exactly the expected counts, and its statistics match SciPy', () => {
    const model = referenceModel('fall-detector');
    const t0 = 1_767_225_600_000;
    let now = t0 + 1000;
    const monitor = new DeviceMonitor({
      fleet: 'ward-3',
      device: 'bedside-1',
      runtimeVersion: '0.1.0',
      firmwareVersion: 'fw-1',
      now: () => now,
    });
    monitor.registerModel(model);
    const threshold = fixture.operatingThreshold;
    const results: MonitoredResult[] = fixture.windows.map((w) => ({
      streamId: 's1',
      cohort: 'c1',
      endMs: now,
      status:
        w.status === 'fallback'
          ? { kind: 'fallback', reason: w.reason ?? 'OTHER' }
          : w.status === 'indeterminate'
            ? { kind: 'indeterminate', score: w.score ?? Number.NaN }
            : {
                kind: 'ok',
                score: w.score ?? Number.NaN,
                positive: (w.score ?? 0) >= threshold,
                label: (w.score ?? 0) >= threshold ? 'fall' : 'no-fall',
              },
      provenance: { bundleId: model.manifest.bundleId },
      latencyMs: 0.3,
      shadow: false,
    }));
    fixture.windows.forEach((w, i) => {
      const features = w.features === null ? null : Float64Array.from(w.features, (v) => v ?? Number.NaN);
      monitor.onResult(results[i] as MonitoredResult, features);
    });
    for (const label of fixture.labels)
      monitor.onLabel(results[label.index] as MonitoredResult, { value: label.value });
    now = t0 + 3_600_000;
    const [draft] = monitor.closeInterval();
    if (!draft) throw new Error('a report is expected');
    const key = exampleKey();
    const signed = signReport(
      {
        ...draft,
        seq: 1,
        createdMs: now,
        evicted: {
          'routine-report': 0,
          event: 0,
          'update-status': 0,
          alert: 0,
          'audit-checkpoint': 0,
          'safety-event': 0,
        },
      },
      key.signer,
    );
    const report = verifyReport(signed, {
      resolveKey: (kid) =>
        kid === EXAMPLE_KID ? { publicKey: key.publicKey, fleet: 'ward-3', device: 'bedside-1' } : undefined,
    }).value;

    const e = fixture.expected;
    expect(report.windows).toEqual(e.windows);
    expect(report.fallbackReasons).toEqual(e.fallbackReasons);
    expect(report.features).toEqual(e.features);
    expect(report.score.counts).toEqual(e.scoreCounts);
    expect(report.score.sumPMicro).toEqual(e.scoreSumPMicro);
    expect(report.labels).toEqual({ ...e.labels, late: 0 });

    // Performance from the report's label bins (exact confusion: the threshold is a score edge).
    const edges = model.profile.score.edges;
    const labels = report.labels;
    if (labels === null) throw new Error('labels expected');
    const labelled = { n: labels.n, sumP: sumPFromMicro(labels.sumPMicro), sumY: labels.sumY };
    const confusion = confusionFromScoreBins(edges, labelled, threshold);
    expect(confusion).toEqual(e.confusion);
    const sens = sensitivity(confusion);
    const spec = specificity(confusion);
    if (sens.kind !== 'estimate' || spec.kind !== 'estimate') throw new Error('estimates expected');
    close(sens.estimate, e.sensitivity);
    close(spec.estimate, e.specificity);
    // Σp̂ travels in micro-units: ECE and O/E agree to the rounding (≤ 5e-7 per bin).
    expect(Math.abs(expectedCalibrationError(labelled) - e.ece)).toBeLessThan(1e-6);
    expect(Math.abs(observedExpected(labelled).ratio - e.observedExpected)).toBeLessThan(1e-6);
    const cbpe = cbpeEstimate(
      edges,
      {
        n: report.score.counts,
        sumP: sumPFromMicro(report.score.sumPMicro),
        sumY: report.score.counts.map(() => 0),
      },
      threshold,
    );
    if (cbpe.kind !== 'estimate') throw new Error('CBPE expected');
    expect(Math.abs(cbpe.expectedTp - e.cbpe.expectedTp)).toBeLessThan(1e-4);
    expect(Math.abs((cbpe.sensitivity?.estimate ?? NaN) - e.cbpe.sensitivity)).toBeLessThan(1e-6);
    expect(Math.abs((cbpe.specificity?.estimate ?? NaN) - e.cbpe.specificity)).toBeLessThan(1e-6);

    // Drift statistics from the report's counts vs SciPy, every feature and the score.
    const variables = [...model.profile.features, model.profile.score];
    const counts = [...report.features, report.score.counts];
    variables.forEach((v, i) => {
      const expected = e.drift[i] as DriftExpected;
      const stats = driftStatistics(
        counts[i] as number[],
        prepareReference({ edges: v.edges, proportions: v.proportions, sd: v.sd }),
      );
      if (stats.kind !== 'computed') throw new Error('statistics expected');
      expect(stats.n).toBe(expected.n);
      close(stats.psi, expected.psi);
      close(stats.js, expected.js);
      close(stats.ks, expected.ks);
      close(stats.wasserstein, expected.wasserstein);
      close(stats.chi2.statistic, expected.chi2);
    });
    // A +0.3 SD shift of every feature at n ≈ 380 is drift the device must flag.
    expect(report.drift.alarm).toBe(true);
  });
});
