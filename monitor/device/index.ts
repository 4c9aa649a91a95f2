// Public API of the device-side drift monitor (issue 7). Semantics and wiring:
// docs/telemetry-reports.md. monitor/ never imports runtime/: the input types here are structural,
// and runtime's WindowResult / PipelineEvent / LabelSubmission satisfy them as they are.
export { DeviceMonitor } from './monitor.ts';
export type { RestoreResult } from './monitor.ts';
export { MonitorError } from './errors.ts';
export type { MonitorErrorCode } from './errors.ts';
export { LATENCY_EDGES, PAGE_HINKLEY_MIN_SAMPLES, prepareModel, sha256Hex } from './model.ts';
export type { PreparedModel, PreparedVariable } from './model.ts';
export { decideInterval, effectiveSampleSize } from './evaluate.ts';
export type { IntervalDecision, VariableDecision } from './evaluate.ts';
export { MAX_STATE_BYTES, jsonFileStore, memoryStore } from './store.ts';
export { enqueueDriftEvent, enqueueReports, reportCycle } from './enqueue.ts';
export type { ReportOutbox } from './enqueue.ts';
export type {
  DeviceMonitorOptions,
  DriftAlarm,
  DriftEventDraft,
  MonitorCallbacks,
  MonitorCounters,
  MonitorStateStore,
  MonitoredEvent,
  MonitoredLabel,
  MonitoredManifest,
  MonitoredModel,
  MonitoredResult,
  MonitoredStatus,
  ReportDraft,
  SuppressOutputsRequest,
} from './types.ts';
