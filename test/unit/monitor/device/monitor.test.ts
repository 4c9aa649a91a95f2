import { describe, expect, it } from 'vitest';
import {
  DeviceMonitor,
  LATENCY_EDGES,
  MonitorError,
  memoryStore,
  type DriftAlarm,
  type MonitoredModel,
  type ReportDraft,
  type SuppressOutputsRequest,
} from '../../../../monitor/device/index.ts';
import {
  SeededRandom,
  binIndex,
  cbpeEstimate,
  confusionFromScoreBins,
  createScoreBins,
  addLabelled,
  addUnlabelled,
} from '../../../../monitor/stats/index.ts';
import {
  decodeReportPayload,
  encodeReportPayload,
  sumPFromMicro,
  type TelemetryReport,
} from '../../../../monitor/report/index.ts';
import { binIndex as profileBinIndex } from '../../../../models/profile/index.ts';
import { FakeClock, drawFromReference, ok, referenceModel, result } from './helpers.ts';

const HOUR = 3_600_000;
const T0 = 1_767_225_600_000; // an hour boundary (2026-01-01T00:00Z)
const NO_EVICTIONS = {
  'routine-report': 0,
  event: 0,
  'update-status': 0,
  alert: 0,
  'audit-checkpoint': 0,
  'safety-event': 0,
};

function finalize(draft: ReportDraft, seq = 1): TelemetryReport {
  const report = { ...draft, seq, createdMs: draft.endMs + 5, evicted: NO_EVICTIONS };
  // Every draft must survive the wire format.
  return decodeReportPayload(encodeReportPayload(report));
}

function setup(
  options: {
    model?: MonitoredModel;
    clock?: FakeClock;
    alarms?: DriftAlarm[];
    suppress?: SuppressOutputsRequest[];
    store?: ReturnType<typeof memoryStore>;
  } = {},
) {
  const model = options.model ?? referenceModel('fall-detector');
  const clock = options.clock ?? new FakeClock(T0);
  const monitor = new DeviceMonitor({
    fleet: 'ward-3',
    device: 'bedside-1',
    runtimeVersion: '0.1.0',
    firmwareVersion: 'fw-1',
    now: clock.now,
    callbacks: {
      onAlarm: (a) => options.alarms?.push(a),
      onSuppressOutputs: (r) => options.suppress?.push(r),
    },
    ...(options.store ? { store: options.store } : {}),
  });
  monitor.registerModel(model);
  return { monitor, clock, model, threshold: model.manifest.thresholds.operatingThreshold };
}

/** A window drawn from the reference itself (features and score), optionally with features shifted. */
function referenceWindow(
  model: MonitoredModel,
  random: SeededRandom,
  shiftBins = 0,
): { features: Float64Array; score: number } {
  const p = model.profile;
  const features = Float64Array.from(p.features, (f) =>
    drawFromReference(random, f.edges, f.proportions, shiftBins),
  );
  const cal = p.calibration;
  const u = random.uniform();
  let acc = 0;
  let bin = 0;
  for (let i = 0; i < p.score.proportions.length; i++) {
    acc += p.score.proportions[i] as number;
    if (u < acc) {
      bin = i;
      break;
    }
  }
  const n = cal?.n[bin] ?? 0;
  const score = n > 0 ? (cal?.sumP[bin] ?? 0) / n : 0.5;
  return { features, score };
}

describe('DeviceMonitor intervals and counts', () => {
  it('counts statuses, reasons, features, score and latency into the current interval', () => {
    const { monitor, clock, model, threshold } = setup();
    const random = SeededRandom.fromSeed(3);
    const rows: { features: Float64Array; score: number }[] = [];
    for (let i = 0; i < 200; i++) {
      const w = referenceWindow(model, random);
      rows.push(w);
      monitor.onResult(result(ok(w.score, threshold), { latencyMs: 0.05 + i * 0.01 }), w.features);
    }
    monitor.onResult(result({ kind: 'indeterminate', score: 0.45 }), rows[0]?.features ?? null);
    monitor.onResult(result({ kind: 'fallback', reason: 'QUALITY_CLIPPING' }), null);
    monitor.onResult(result({ kind: 'fallback', reason: 'OOD_SUPPORT' }), rows[1]?.features ?? null);
    monitor.onResult(result({ kind: 'fallback', reason: 'SOMETHING_NEW' }), null);
    expect(monitor.closeInterval(T0 + HOUR - 1)).toEqual([]); // not over yet
    clock.ms = T0 + HOUR;
    const [draft, ...rest] = monitor.closeInterval();
    expect(rest).toHaveLength(0);
    const report = finalize(draft as ReportDraft);
    expect(report.startMs).toBe(T0);
    expect(report.endMs).toBe(T0 + HOUR);
    expect(report.windows).toEqual({ ok: 200, indeterminate: 1, fallback: 3 });
    expect(report.fallbackReasons).toEqual({ QUALITY_CLIPPING: 1, OOD_SUPPORT: 1, OTHER: 1 });
    // Independent binning (models/profile's binIndex) of the same rows.
    const featured = [...rows, rows[0], rows[1]] as { features: Float64Array }[];
    model.profile.features.forEach((f, j) => {
      const expected = new Array<number>(f.edges.length + 2).fill(0);
      for (const r of featured) {
        const i = profileBinIndex(f.edges, r.features[j] as number);
        expected[i] = (expected[i] as number) + 1;
      }
      expect(report.features[j]).toEqual(expected);
    });
    const scores = [...rows.map((r) => r.score), 0.45];
    const expectedScore = new Array<number>(model.profile.score.edges.length + 2).fill(0);
    const expectedSum = new Array<number>(expectedScore.length).fill(0);
    for (const s of scores) {
      const i = profileBinIndex(model.profile.score.edges, s);
      expectedScore[i] = (expectedScore[i] as number) + 1;
      expectedSum[i] = (expectedSum[i] as number) + s;
    }
    expect(report.score.counts).toEqual(expectedScore);
    sumPFromMicro(report.score.sumPMicro).forEach((v, i) => {
      expect(v).toBeCloseTo(expectedSum[i] as number, 5);
    });
    expect(report.latency.reduce((a, b) => a + b, 0)).toBe(204);
    expect(report.latency[binIndex(LATENCY_EDGES, 0.05)]).toBeGreaterThan(0);
    expect(report.labels).toBeNull();
  });

  it('rolls a group into the next interval on the first result after the boundary, and skips empty intervals', () => {
    const { monitor, clock, threshold } = setup();
    monitor.onResult(result(ok(0.1, threshold)), null);
    clock.ms = T0 + HOUR + 10; // the timer is late: this window belongs to the new interval
    monitor.onResult(result(ok(0.2, threshold)), null);
    monitor.onResult(result(ok(0.3, threshold)), null);
    expect(monitor.nextCloseMs()).toBe(T0 + 2 * HOUR);
    clock.ms = T0 + 3 * HOUR + 1; // an empty hour in between
    const drafts = monitor.closeInterval();
    expect(drafts.map((d) => [d.startMs, d.windows.ok])).toEqual([
      [T0, 1],
      [T0 + HOUR, 2],
    ]);
    expect(monitor.closeInterval()).toEqual([]);
  });

  it('keeps one group per (bundle, cohort, role) and drops results of unknown bundles', () => {
    const { monitor, clock, threshold } = setup();
    monitor.registerModel(referenceModel('af-screener'));
    monitor.onResult(result(ok(0.1, threshold), { cohort: 'a' }), null);
    monitor.onResult(result(ok(0.1, threshold), { cohort: 'b' }), null);
    monitor.onResult(result(ok(0.1, 0.5), { bundleId: 'af-screener@1.0.0', cohort: 'a' }), null);
    monitor.onResult(result(ok(0.1, 0.5), { bundleId: 'nobody@1' }), null);
    monitor.onResult(result(ok(0.1, 0.5)), new Float64Array(3)); // wrong feature count
    clock.ms = T0 + HOUR;
    const drafts = monitor.closeInterval();
    expect(drafts.map((d) => `${d.model.bundleId}/${d.cohort}/${d.role}`).sort()).toEqual([
      'af-screener@1.0.0/a/active',
      'fall-detector@1.0.0/a/active',
      'fall-detector@1.0.0/b/active',
      'fall-detector@1.0.0/c1/active',
    ]);
    expect(monitor.stats()).toMatchObject({ unknownModel: 1, featureMismatch: 1, groups: 4 });
  });

  it('refuses a profile whose features do not match the manifest, or other hashes under one bundle id', () => {
    const model = referenceModel('fall-detector');
    const { monitor } = setup();
    const broken: MonitoredModel = {
      ...model,
      manifest: {
        ...model.manifest,
        bundleId: 'x@1',
        model: { featureNames: model.manifest.model.featureNames.slice(1) },
      },
    };
    expect(() => {
      monitor.registerModel(broken);
    }).toThrow(MonitorError);
    expect(() => {
      monitor.registerModel({ ...model, profileSha256: 'ab'.repeat(32) });
    }).toThrow(expect.objectContaining({ code: 'BAD_MODEL' }) as Error);
  });

  it('merges exactly across devices: decoded reports add up to one monitor that saw everything', () => {
    const model = referenceModel('fall-detector');
    const a = setup({ model });
    const b = setup({ model });
    const all = setup({ model });
    const random = SeededRandom.fromSeed(9);
    for (let i = 0; i < 500; i++) {
      const w = referenceWindow(model, random);
      const r = result(ok(w.score, a.threshold), { latencyMs: random.uniform() * 5 });
      (i % 3 === 0 ? a : b).monitor.onResult(r, w.features);
      all.monitor.onResult(r, w.features);
    }
    for (const s of [a, b, all]) s.clock.ms = T0 + HOUR;
    const [ra, rb, rall] = [a, b, all].map((s) => finalize(s.monitor.closeInterval()[0] as ReportDraft));
    const add = (x: readonly number[], y: readonly number[]) => x.map((v, i) => v + (y[i] as number));
    rall?.features.forEach((counts, f) => {
      expect(add(ra?.features[f] ?? [], rb?.features[f] ?? [])).toEqual(counts);
    });
    expect(add(ra?.score.counts ?? [], rb?.score.counts ?? [])).toEqual(rall?.score.counts);
    expect(add(ra?.latency ?? [], rb?.latency ?? [])).toEqual(rall?.latency);
    // Σp̂ merges as integers; each report rounds once (≤ 1 micro-unit per bin apart).
    add(ra?.score.sumPMicro ?? [], rb?.score.sumPMicro ?? []).forEach((v, i) => {
      expect(Math.abs(v - (rall?.score.sumPMicro[i] as number))).toBeLessThanOrEqual(1);
    });
  });
});

describe('DeviceMonitor labels and performance', () => {
  it('joins labels in the interval they arrive in, counts late and unscored ones, and gives exact confusion counts', () => {
    const { monitor, clock, model, threshold } = setup();
    const random = SeededRandom.fromSeed(21);
    const edges = model.profile.score.edges;
    const early = result(ok(0.9, threshold), { endMs: T0 + 1000 });
    monitor.onResult(early, null);
    clock.ms = T0 + HOUR + 1;
    const labelled = createScoreBins(edges);
    const unlabelled = createScoreBins(edges);
    addUnlabelled(unlabelled, edges, 0.9);
    monitor.onLabel(early, { value: 1 }); // arrives in the second hour: late
    addLabelled(labelled, edges, 0.9, 1);
    for (let i = 0; i < 300; i++) {
      const score = random.uniform();
      const r = result(score >= threshold ? ok(score, threshold) : { kind: 'indeterminate', score }, {
        endMs: clock.ms,
      });
      monitor.onResult(r, null);
      addUnlabelled(unlabelled, edges, score);
      if (i % 2 === 0) {
        const y = random.uniform() < score ? 1 : 0;
        monitor.onLabel(r, { value: y });
        addLabelled(labelled, edges, score, y);
      }
    }
    monitor.onLabel(result({ kind: 'fallback', reason: 'QUALITY_NAN' }, { endMs: clock.ms }), { value: 0 });
    clock.ms = T0 + 2 * HOUR;
    const drafts = monitor.closeInterval();
    expect(drafts).toHaveLength(2);
    const first = finalize(drafts[0] as ReportDraft);
    const second = finalize(drafts[1] as ReportDraft);
    expect(first.labels).toBeNull();
    const labels = second.labels;
    if (labels === null) throw new Error('labels expected');
    expect(labels.late).toBe(1);
    expect(labels.unscored).toBe(1);
    expect(labels.n).toEqual(Array.from(labelled.n));
    expect(labels.sumY).toEqual(Array.from(labelled.sumY));
    const view = { n: labels.n, sumP: sumPFromMicro(labels.sumPMicro), sumY: labels.sumY };
    expect(confusionFromScoreBins(edges, view, threshold)).toEqual(
      confusionFromScoreBins(edges, labelled, threshold),
    );
    // CBPE from the report equals CBPE on the raw scores (all scored windows of interval 2).
    const secondUnlabelled = createScoreBins(edges);
    const fromReport = cbpeEstimate(
      edges,
      {
        n: second.score.counts,
        sumP: sumPFromMicro(second.score.sumPMicro),
        sumY: second.score.counts.map(() => 0),
      },
      threshold,
    );
    unlabelled.n.forEach((n, i) => {
      secondUnlabelled.n[i] = n;
      secondUnlabelled.sumP[i] = unlabelled.sumP[i] as number;
    });
    const b = binIndex(edges, 0.9); // the first-hour window is not in interval 2
    secondUnlabelled.n[b] = (secondUnlabelled.n[b] as number) - 1;
    secondUnlabelled.sumP[b] = (secondUnlabelled.sumP[b] as number) - 0.9;
    const direct = cbpeEstimate(edges, secondUnlabelled, threshold);
    if (fromReport.kind !== 'estimate' || direct.kind !== 'estimate') throw new Error('estimates expected');
    expect(fromReport.sensitivity?.estimate).toBeCloseTo(direct.sensitivity?.estimate ?? NaN, 5);
    expect(fromReport.specificity?.estimate).toBeCloseTo(direct.specificity?.estimate ?? NaN, 5);
  });
});

describe('DeviceMonitor shadow pairs and events', () => {
  it('reports agreement on the active model and the candidate results in their own report', () => {
    const { monitor, clock, threshold } = setup();
    monitor.registerModel(referenceModel('fall-detector', {}, 'fall-detector@1.1.0'));
    const pairs: [ReturnType<typeof result>, ReturnType<typeof result>][] = [
      [
        result(ok(0.9, threshold)),
        result(ok(0.95, threshold), { bundleId: 'fall-detector@1.1.0', shadow: true }),
      ],
      [
        result(ok(0.1, threshold)),
        result(ok(0.9, threshold), { bundleId: 'fall-detector@1.1.0', shadow: true }),
      ],
      [
        result(ok(0.1, threshold)),
        result({ kind: 'indeterminate', score: 0.45 }, { bundleId: 'fall-detector@1.1.0', shadow: true }),
      ],
      [
        result({ kind: 'fallback', reason: 'QUALITY_NAN' }),
        result(
          { kind: 'fallback', reason: 'QUALITY_NAN' },
          { bundleId: 'fall-detector@1.1.0', shadow: true },
        ),
      ],
    ];
    for (const [a, c] of pairs) {
      monitor.onResult(a, null);
      monitor.onResult(c, null);
      monitor.onShadowPair(a, c);
    }
    clock.ms = T0 + HOUR;
    const reports = monitor.closeInterval().map((d) => finalize(d));
    const active = reports.find((r) => r.role === 'active');
    const candidate = reports.find((r) => r.role === 'shadow');
    expect(active?.shadow).toEqual([
      {
        candidateBundleId: 'fall-detector@1.1.0',
        pairs: 4,
        agreements: 2,
        candidate: { ok: 2, indeterminate: 1, fallback: 1 },
        positives: { both: 1, activeOnly: 0, candidateOnly: 1, neither: 0 },
      },
    ]);
    expect(candidate?.model.bundleId).toBe('fall-detector@1.1.0');
    expect(candidate?.windows).toEqual({ ok: 2, indeterminate: 1, fallback: 1 });
    expect(candidate?.shadow).toEqual([]);
  });

  it('counts alerts and episodes, including an event that precedes its stream first result', () => {
    const { monitor, clock, threshold } = setup();
    const bundleId = 'fall-detector@1.0.0';
    monitor.onEvent({ kind: 'fallback-episode-start', streamId: 'new', bundleId });
    monitor.onResult(result({ kind: 'fallback', reason: 'QUALITY_SENSOR_FLAG' }, { streamId: 'new' }), null);
    monitor.onEvent({ kind: 'fallback-episode-end', streamId: 'new', bundleId, windows: 1 });
    monitor.onEvent({ kind: 'alert', streamId: 'new', bundleId, source: 'model' });
    monitor.onResult(result(ok(0.99, threshold), { streamId: 'new' }), null);
    monitor.onEvent({ kind: 'alert', streamId: 'new', bundleId, source: 'quality' });
    clock.ms = T0 + HOUR;
    const report = finalize(monitor.closeInterval()[0] as ReportDraft);
    expect(report.episodes).toEqual({ started: 1, ended: 1, windows: 1 });
    expect(report.alerts).toEqual({ model: 1, fallbackRule: 0, quality: 1 });
  });
});

describe('DeviceMonitor drift', () => {
  function hour(model: MonitoredModel, seed: number, shiftBins: number, windows = 3600) {
    const alarms: DriftAlarm[] = [];
    const suppress: SuppressOutputsRequest[] = [];
    const s = setup({ model, alarms, suppress });
    const random = SeededRandom.fromSeed(seed);
    for (let i = 0; i < windows; i++) {
      const w = referenceWindow(model, random, shiftBins);
      s.monitor.onResult(result(ok(w.score, s.threshold)), w.features);
    }
    s.clock.ms = T0 + HOUR;
    const report = finalize(s.monitor.closeInterval()[0] as ReportDraft);
    return {
      report,
      alarms: alarms.filter((a) => a.kind === 'interval-drift'),
      suppress,
      monitor: s.monitor,
    };
  }

  it('raises no interval alarm on reference data, and flags per-test exceedances at about α', () => {
    const model = referenceModel('fall-detector', { statistics: ['psi', 'js', 'ks', 'wasserstein', 'chi2'] });
    let alarms = 0;
    let exceed = 0;
    let tests = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const h = hour(model, seed, 0, 1000);
      alarms += h.alarms.length;
      expect(h.report.drift.alarm).toBe(false);
      for (const f of h.report.drift.flags) exceed += (f.flags & 31) === 0 ? 0 : 1;
      tests += 17;
    }
    expect(alarms).toBe(0);
    // Per variable, any of 5 statistics at α = 0.01 each: well under 10 % of variables.
    expect(exceed / tests).toBeLessThan(0.1);
  });

  it('alarms on shifted features, with flags naming the statistics, per the policy (report only: no event)', () => {
    const h = hour(referenceModel('fall-detector'), 5, 1);
    expect(h.report.drift.alarm).toBe(true);
    expect(h.alarms).toHaveLength(1);
    expect(h.alarms[0]?.action).toBe('report');
    expect(h.alarms[0]?.event).toBeNull();
    const alarmed = h.report.drift.flags.filter((f) => f.flags & 128);
    expect(alarmed.length).toBeGreaterThan(8);
    expect(h.suppress).toHaveLength(0);
  });

  it('sends an event for onDrift alert, and requests the declared safe action once for suppress-outputs', () => {
    const alert = hour(referenceModel('fall-detector', { onDrift: 'alert' }), 5, 1);
    expect(alert.alarms[0]?.event?.kind).toBe('interval-drift');
    expect(alert.alarms[0]?.event?.interval).toEqual({ startMs: T0, endMs: T0 + HOUR });
    const suppress = hour(referenceModel('fall-detector', { onDrift: 'suppress-outputs' }), 5, 1);
    expect(suppress.alarms[0]?.action).toBe('suppress-outputs');
    expect(suppress.suppress).toHaveLength(1);
    expect(suppress.suppress[0]?.bundleId).toBe('fall-detector@1.0.0');
    expect(suppress.report.suppressedSinceMs).toBe(T0 + HOUR);
    expect(suppress.monitor.activeSuppressions()).toEqual([
      { bundleId: 'fall-detector@1.0.0', sinceMs: T0 + HOUR },
    ]);
    expect(suppress.monitor.liftSuppression('fall-detector@1.0.0')).toBe(true);
    expect(suppress.monitor.activeSuppressions()).toEqual([]);
  });

  it('never suppresses for a shadow candidate or a change-detector alarm', () => {
    const alarms: DriftAlarm[] = [];
    const suppress: SuppressOutputsRequest[] = [];
    const model = referenceModel('fall-detector', { onDrift: 'suppress-outputs' });
    const s = setup({ model, alarms, suppress });
    // Scores far above the reference mean: Page–Hinkley signals "up".
    for (let i = 0; i < 200; i++)
      s.monitor.onResult(result(ok(0.999, s.threshold), { shadow: i % 2 === 0 }), null);
    expect(
      alarms.some((a) => a.kind === 'score-change' && a.direction === 'up' && a.action === 'alert'),
    ).toBe(true);
    expect(suppress).toHaveLength(0);
  });
});

describe('DeviceMonitor change detection', () => {
  it('signals Page–Hinkley alarms at about the calibrated rate on reference scores (≈ 1 per 10k windows)', () => {
    const { monitor, model, threshold } = setup();
    const random = SeededRandom.fromSeed(77);
    const windows = 100_000;
    const alarms: number[] = [];
    for (let i = 0; i < windows; i++) {
      const w = referenceWindow(model, random);
      monitor.onResult(result(ok(w.score, threshold)), null);
    }
    const drafts = monitor.closeInterval(T0 + HOUR);
    const report = finalize(drafts[0] as ReportDraft);
    alarms.push(report.change.scoreAlarmsUp + report.change.scoreAlarmsDown);
    // Expected ≈ 10 (the bundle states 1 per 10k; validated 0.7): Poisson 99.9 % range for mean 7–10.
    expect(alarms[0]).toBeGreaterThanOrEqual(1);
    expect(alarms[0]).toBeLessThanOrEqual(22);
  });

  it('raises the quality CUSUM when quality failures run far above the release ceiling', () => {
    const alarms: DriftAlarm[] = [];
    const { monitor, clock } = setup({ alarms });
    const random = SeededRandom.fromSeed(8);
    for (let i = 0; i < 2000; i++) {
      const failed = random.uniform() < 0.5;
      monitor.onResult(
        result(failed ? { kind: 'fallback', reason: 'QUALITY_FLATLINE' } : ok(0.1, 0.5)),
        null,
      );
    }
    clock.ms = T0 + HOUR;
    const report = finalize(monitor.closeInterval()[0] as ReportDraft);
    expect(report.change.qualityAlarms).toBeGreaterThan(5);
    expect(alarms.filter((a) => a.kind === 'quality-change')).toHaveLength(report.change.qualityAlarms);
  });
});

describe('DeviceMonitor persistence', () => {
  it('continues bit for bit after a restart mid-interval (detectors, counts, suppressions)', () => {
    const model = referenceModel('fall-detector');
    const random = SeededRandom.fromSeed(4);
    const windows = Array.from({ length: 3000 }, () => referenceWindow(model, random));
    const reference = setup({ model });
    for (const w of windows) reference.monitor.onResult(result(ok(w.score, reference.threshold)), w.features);
    reference.clock.ms = T0 + HOUR;
    const expected = reference.monitor.closeInterval();

    const store = memoryStore();
    const first = setup({ model, store });
    for (const w of windows.slice(0, 1700))
      first.monitor.onResult(result(ok(w.score, first.threshold)), w.features);
    first.monitor.persist();
    const second = setup({ model, store, clock: new FakeClock(T0 + 10) });
    expect(second.monitor.restore()).toEqual({ restoredGroups: 1, discarded: [] });
    for (const w of windows.slice(1700))
      second.monitor.onResult(result(ok(w.score, second.threshold)), w.features);
    second.clock.ms = T0 + HOUR;
    expect(second.monitor.closeInterval()).toEqual(expected);
  });

  it('reports an interval that ended while the device was down, and discards state of unknown models', () => {
    const store = memoryStore();
    const first = setup({ store });
    first.monitor.onResult(result(ok(0.2, first.threshold)), null);
    first.monitor.persist();
    const otherModel = referenceModel('fall-detector', {}, 'fall-detector@9.9.9');
    const later = setup({ store, model: otherModel, clock: new FakeClock(T0 + 5 * HOUR) });
    expect(later.monitor.restore().restoredGroups).toBe(0);
    const same = setup({ store, clock: new FakeClock(T0 + 5 * HOUR) });
    expect(same.monitor.restore().restoredGroups).toBe(1);
    const drafts = same.monitor.closeInterval();
    expect(drafts.map((d) => [d.startMs, d.windows.ok])).toEqual([[T0, 1]]);
  });

  it('survives a corrupt state file by starting fresh, with the reason', () => {
    for (const text of [
      '{nope',
      '{"v":2}',
      JSON.stringify({ v: 1, groups: [{ bundleId: 'fall-detector@1.0.0' }] }),
    ]) {
      const { monitor } = setup({ store: memoryStore(text) });
      const restored = monitor.restore();
      expect(restored.restoredGroups).toBe(0);
      expect(restored.discarded.length).toBeGreaterThan(0);
    }
  });
});

describe('DeviceMonitor hot path', () => {
  it('observes well over 1,000 windows per second (16 features)', () => {
    const { monitor, model, threshold, clock } = setup();
    const random = SeededRandom.fromSeed(1);
    const rows = Array.from({ length: 2000 }, () => referenceWindow(model, random));
    const results = rows.map((w) => result(ok(w.score, threshold)));
    for (let i = 0; i < 2000; i++)
      monitor.onResult(
        results[i] as ReturnType<typeof result>,
        (rows[i] as { features: Float64Array }).features,
      );
    const start = performance.now();
    const rounds = 10;
    for (let r = 0; r < rounds; r++)
      for (let i = 0; i < 2000; i++)
        monitor.onResult(
          results[i] as ReturnType<typeof result>,
          (rows[i] as { features: Float64Array }).features,
        );
    const perWindowUs = ((performance.now() - start) * 1000) / (rounds * 2000);
    expect(perWindowUs).toBeLessThan(100); // measured ≈ 1–3 µs; 100 µs would still be 10,000 windows/s
    clock.ms = T0 + HOUR;
    expect(monitor.closeInterval()[0]?.windows.ok).toBe(22_000);
  });
});

describe('DeviceMonitor report text fields', () => {
  it('never loses a report to a cohort key the format cannot carry', () => {
    const { monitor, clock, threshold } = setup();
    const cohort = `ward\u0007${'é'.repeat(100)}`;
    monitor.onResult(result(ok(0.2, threshold), { cohort }), null);
    clock.ms = T0 + HOUR;
    const report = finalize(monitor.closeInterval()[0] as ReportDraft);
    expect(report.cohort.startsWith('ward?é')).toBe(true);
    expect(Buffer.byteLength(report.cohort)).toBeLessThanOrEqual(128);
  });
});
