// Size of an hourly drift report for a 16-feature model (issue 7: ≤ 2 KB), beside its JSON
// equivalent, from a DeviceMonitor fed one simulated wearer-hour: 3,600 fall-detector windows through
// the real preprocessing and the shipped ONNX model, with quality fallbacks, latency and a few labels.
// Also the monitor's hot-path cost per window against bare binning of the same rows (monitor/stats).
import { DeviceMonitor, type MonitoredResult, type ReportDraft } from '../monitor/device/index.ts';
import { addRow, createCounts } from '../monitor/stats/index.ts';
import { jsonEquivalent, signReport, type TelemetryReport } from '../monitor/report/index.ts';
import { fallFeatures } from '../test/integration/monitor/simulated.ts';
import { exampleKey } from '../test/unit/monitor/report/example.ts';
import { referenceModel } from '../test/unit/monitor/device/helpers.ts';
import type { BenchFigure } from './harness.ts';

export const name = 'report';

const WINDOWS = 3600;
const T0 = 1_767_225_600_000;
const NO_EVICTIONS = {
  'routine-report': 0,
  event: 0,
  'update-status': 0,
  alert: 0,
  'audit-checkpoint': 0,
  'safety-event': 0,
};

function finish(draft: ReportDraft): TelemetryReport {
  return {
    ...draft,
    seq: 123_456,
    createdMs: draft.endMs + 250,
    evicted: { ...NO_EVICTIONS, 'routine-report': 3 },
  };
}

export async function run(log: (line: string) => void): Promise<readonly BenchFigure[]> {
  const data = await fallFeatures({ seed: 77_001, count: WINDOWS });
  const model = referenceModel('fall-detector');
  const threshold = model.manifest.thresholds.operatingThreshold;
  const low = model.manifest.thresholds.indeterminateLow;
  const key = exampleKey();

  const hour = (withShadow: boolean): { report: TelemetryReport; perWindowUs: number } => {
    let now = T0;
    const monitor = new DeviceMonitor({
      fleet: 'ward-3',
      device: 'bedside-17',
      runtimeVersion: '0.1.0',
      firmwareVersion: 'fw-2.4.1',
      now: () => now,
    });
    monitor.registerModel(model);
    const results: MonitoredResult[] = [];
    for (let i = 0; i < WINDOWS; i++) {
      const score = data.scores[i] as number;
      // ~3 % quality failures (no features), the rest scored by the model.
      const quality = i % 33 === 5;
      const status: MonitoredResult['status'] = quality
        ? { kind: 'fallback', reason: i % 2 === 0 ? 'QUALITY_CLIPPING' : 'QUALITY_FLATLINE' }
        : score >= low && score < threshold
          ? { kind: 'indeterminate', score }
          : {
              kind: 'ok',
              score,
              positive: score >= threshold,
              label: score >= threshold ? 'fall' : 'no-fall',
            };
      results.push({
        streamId: 'wearer-1',
        cohort: 'age=older;activity=low;placement=waist',
        endMs: T0 + i * 1000,
        status,
        provenance: { bundleId: model.manifest.bundleId },
        latencyMs: 0.08 + ((i * 7919) % 100) / 400,
        shadow: false,
      });
    }
    const start = performance.now();
    for (let i = 0; i < WINDOWS; i++) {
      now = T0 + i * 1000;
      const r = results[i] as MonitoredResult;
      monitor.onResult(r, r.status.kind === 'fallback' ? null : data.x.subarray(i * 16, (i + 1) * 16));
      if (withShadow && r.status.kind !== 'fallback')
        monitor.onShadowPair(r, { ...r, provenance: { bundleId: 'fall-detector@1.1.0' }, shadow: true });
    }
    const perWindowUs = ((performance.now() - start) * 1000) / WINDOWS;
    // Delayed labels: every 90th window (40 labels in the hour).
    for (let i = 0; i < WINDOWS; i += 90)
      monitor.onLabel(results[i] as MonitoredResult, { value: data.labels[i] === 1 ? 1 : 0 });
    now = T0 + 3_600_000;
    const [draft] = monitor.closeInterval();
    if (!draft) throw new Error('no report');
    return { report: finish(draft), perWindowUs };
  };

  const plain = hour(false);
  const full = hour(true);
  const signed = signReport(plain.report, key.signer);
  const json = Buffer.byteLength(jsonEquivalent(plain.report));
  const signedFull = signReport(full.report, key.signer);
  const jsonFull = Buffer.byteLength(jsonEquivalent(full.report));
  log(`hourly report, 16 features, ${WINDOWS} windows: ${signed.length} B signed CBOR, ${json} B JSON`);
  log(`with 40 labels and a shadow candidate: ${signedFull.length} B signed CBOR, ${jsonFull} B JSON`);

  // Hot path against bare binning of the same rows (the essential work: 16 binary searches per window).
  const counts = model.profile.features.map((f) => createCounts(f.edges));
  const edges = model.profile.features.map((f) => Float64Array.from(f.edges));
  const rounds = 5;
  let bare = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < WINDOWS; i++) addRow(counts, edges, data.x.subarray(i * 16, (i + 1) * 16));
    bare = Math.min(bare, ((performance.now() - t) * 1000) / WINDOWS);
  }
  let observe = Infinity;
  for (let r = 0; r < rounds; r++) observe = Math.min(observe, hour(false).perWindowUs);
  log(`observe ${observe.toFixed(2)} µs/window, bare binning ${bare.toFixed(2)} µs/window`);

  return [
    {
      bench: 'report-size-hourly-16f',
      metric: 'bytes',
      value: signed.length,
      unit: 'bytes',
      baseline: `JSON equivalent ${json} B`,
      goal: '<=2048',
    },
    {
      bench: 'report-size-hourly-16f',
      metric: 'cbor_json_ratio',
      value: Number((signed.length / json).toFixed(3)),
      unit: 'ratio',
      baseline: 'JSON equivalent of the same report (named keys, dense arrays, unsigned)',
      goal: '',
    },
    {
      bench: 'report-size-hourly-16f-labels-shadow',
      metric: 'bytes',
      value: signedFull.length,
      unit: 'bytes',
      baseline: `JSON equivalent ${jsonFull} B`,
      goal: '<=2048',
    },
    {
      bench: 'report-observe-per-window',
      metric: 'cost_ratio',
      value: Number((observe / bare).toFixed(2)),
      unit: 'ratio',
      baseline: `bare monitor/stats addRow binning of the same 16-feature rows (${bare.toFixed(2)} µs/window)`,
      goal: '',
    },
    {
      bench: 'report-observe-per-window',
      metric: 'windows_per_s',
      value: Math.round(1e6 / observe),
      unit: 'windows/s',
      baseline: 'DeviceMonitor.onResult with features, one core',
      goal: '>=1000',
    },
  ];
}
