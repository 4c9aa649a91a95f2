// Public API of the fleet collector (issue 8; docs/collector.md): ingest of signed telemetry from MQTT,
// SQLite storage behind a storage interface, fleet drift analytics with n-aware thresholds and FDR
// control, drift alerts with a lifecycle, the HTTP API and dashboard, and the surveillance report.
//
//   const collector = new Collector({ store: new SqliteCollectorStore('collector.db'), fleet: 'ward-3' });
//   collector.start();
//   const source = await connectMqttSource({ url, fleet: 'ward-3' }, collector);
//   const http = await startHttpServer(collector, { port: 8080 });
export { Collector, registrationFromManifest } from './collector.ts';
export type { CollectorDeps, ModelRegistration } from './collector.ts';
export { CollectorError } from './errors.ts';
export type { CollectorErrorCode } from './errors.ts';
export {
  ALERT_RULE_DEFAULTS,
  COLLECTOR_DEFAULTS,
  describeAlertRule,
  resolveCollectorOptions,
} from './options.ts';
export type { AlertRuleOptions, CollectorOptions, CollectorOptionsInput } from './options.ts';
export type { CollectorStore, CollectorWriter, JournalEntry, AlertHistoryEntry } from './store.ts';
export { SqliteCollectorStore, SCHEMA_VERSION } from './sqlite-store.ts';
export type { SqliteStoreOptions } from './sqlite-store.ts';
export { Aggregate, SCALAR, mergeAll } from './aggregate.ts';
export type { AggregateShape, ShadowTotals } from './aggregate.ts';
export { SequenceTracker, SEQUENCE_LIMITS } from './sequence.ts';
export type { Gap, GapState, Observation, SequenceSnapshot } from './sequence.ts';
export { REJECT_CODES, classifyMessage } from './classify.ts';
export type { AcceptedMessage, Classified, KeyLookup, RejectCode } from './classify.ts';
export {
  capDeviceWeights,
  designEffect,
  mostDivergentDevice,
  effectiveN,
  twoSampleChi2,
  variableDrift,
  DEFAULT_DRIFT_STATISTICS,
} from './fleet-drift.ts';
export type { VariableDrift } from './fleet-drift.ts';
export { advanceStreak, alertKey, testWindow } from './alert-rule.ts';
export type { GroupCounts, TestResult, WindowTests } from './alert-rule.ts';
export { Evaluator } from './evaluator.ts';
export type { EvaluationSummary } from './evaluator.ts';
export { AlertService, ALERT_INPUT_LIMITS } from './alerts.ts';
export { FleetAnalytics, operationsOf, performanceOf } from './analytics.ts';
export type { Estimate, ModelSummary, Performance, RangeQuery } from './analytics.ts';
export { ProfileCache, parseProfileBytes, prepareProfile, sha256Hex } from './profiles.ts';
export type { PreparedProfile, PreparedVariable } from './profiles.ts';
export { EnrolmentTable, addEnrolment } from './enrolments.ts';
export { inlineVerifier, workerVerifier } from './signatures.ts';
export type { SignatureCheck, SignatureVerifier } from './signatures.ts';
export {
  CHECKPOINT_CONTENT_TYPE,
  SAFETY_EVENT_CONTENT_TYPE,
  SAFETY_EVENT_TYPES,
  parseCheckpointPayload,
  parseSafetyEventPayload,
} from './signed-messages.ts';
export type { CheckpointPayload, SafetyEventPayload, SafetyEventType } from './signed-messages.ts';
export { Ingestor, DAY_MS } from './ingest.ts';
export type { IngestLogger, RecentRejection } from './ingest.ts';
export { connectMqttSource } from './mqtt-source.ts';
export type { MessageSink, MqttSource, MqttSourceOptions } from './mqtt-source.ts';
export { startHttpServer, handleApi, HTTP_LIMITS } from './http.ts';
export type { CollectorHttpServer, HttpServerOptions } from './http.ts';
export { GROUP_DIMENSIONS } from './types.ts';
export type * from './types.ts';
export { buildSurveillanceReport, SURVEILLANCE_FORMAT_VERSION } from './report/surveillance.ts';
export type {
  SurveillanceQuery,
  SurveillanceReport,
  VersionSection,
  RoleSection,
  DriftFinding,
} from './report/surveillance.ts';
export { renderSurveillanceHtml } from './report/html.ts';
export { renderPdf, CHROMIUM_ARGS, CHROMIUM_PATH } from './report/pdf.ts';
