// Public API of telemetry reports (issue 7): types, deterministic CBOR codec, COSE_Sign1 signing and
// verification. Format, key map and CDDL: docs/telemetry-reports.md.
//
//   device:     bytes = signReport(report, signerFor(deviceKey))       // outbox payload, class routine-report
//   collector:  const { value } = verifyReport(bytes, { resolveKey })  // throws ReportError with a code
export { ReportError } from './errors.ts';
export type { ReportErrorCode } from './errors.ts';
export {
  DRIFT_EVENT_CONTENT_TYPE,
  DRIFT_FLAG,
  REPORT_CONTENT_TYPE,
  REPORT_FALLBACK_REASONS,
  REPORT_FORMAT_VERSION,
  REPORT_ID_PATTERN,
  REPORT_LIMITS,
  REPORT_OUTBOX_CLASSES,
  REPORT_STATISTICS,
  SUM_P_SCALE,
  isQualityReason,
} from './types.ts';
export type {
  AlertCounts,
  ChangeSection,
  DriftAction,
  DriftEvent,
  DriftEventKind,
  DriftFlags,
  DriftSection,
  EpisodeCounts,
  LabelSection,
  ReportFallbackReason,
  ReportModel,
  ReportOutboxClass,
  ReportRole,
  ReportStatistic,
  ScoreSection,
  ShadowSection,
  StatusCounts,
  TelemetryReport,
} from './types.ts';
export {
  EVENT_KEYS,
  LATENCY_COUNTS_V1,
  REPORT_KEYS,
  decodeDriftEventPayload,
  decodeReportPayload,
  encodeDriftEventPayload,
  encodeReportPayload,
  sumPFromMicro,
} from './codec.ts';
export { signDriftEvent, signReport, verifyDriftEvent, verifyReport } from './sign.ts';
export type { EnrolledDeviceKey, Verified, VerifyReportOptions } from './sign.ts';
export { jsonEquivalent } from './json.ts';
