// Public API of the model lifecycle (docs/lifecycle.md): install, shadow, promotion, probation and
// automatic rollback, freeze, revocation, signed commands, and black-box replay.
export {
  DEFAULT_LIFECYCLE_POLICY,
  Lifecycle,
  type FaultHooks,
  type FaultPoint,
  type InstallOptions,
  type LifecycleOptions,
  type LifecyclePolicy,
  type UpdateStatusListener,
} from './lifecycle.ts';
export {
  COMMAND_CONTENT_TYPE,
  COMMAND_KINDS,
  COMMAND_MAX_BYTES,
  COMMAND_ROLE,
  CommandRejection,
  DEFAULT_COMMAND_POLICY,
  authenticateCommand,
  describeCommand,
  encodeCommand,
  parseCommand,
  selectorText,
  signCommand,
  targetMismatch,
  type AuthenticatedCommand,
  type BundleSelector,
  type Command,
  type CommandBody,
  type CommandKind,
  type CommandPolicy,
  type CommandTarget,
  type DeviceContext,
} from './command.ts';
export {
  LifecycleError,
  type ActionRejectCode,
  type CommandRejectCode,
  type LifecycleErrorCode,
  type RejectCode,
} from './errors.ts';
export {
  addProbationResult,
  addShadowPair,
  agree,
  countStatus,
  countsAgainstProbation,
  isAlert,
  isForcedFallback,
  judgeProbation,
  promotionCheck,
  shadowMetrics,
  type PromotionCheck,
  type ProbationVerdict,
  type ShadowMetrics,
} from './evidence.ts';
export { stageAllows, widestApprovedStage } from './stages.ts';
export type { SuppressionOutcome } from './suppress.ts';
export { BundleStore } from './bundle-store.ts';
export type {
  ActionOutcome,
  BundleRef,
  BundleSummary,
  CommandOutcome,
  DeviceIdentity,
  FamilyPlan,
  FamilyStatus,
  InstallOutcome,
  LifecycleStatus,
  ServingHost,
  TrustOutcome,
} from './types.ts';
export { bundleSummary, describeState, type StateView } from './status.ts';
export {
  inspectDevice,
  readDeviceIdentity,
  verifyDeviceAudit,
  type AuditReport,
  type Inspection,
} from './inspect.ts';
export {
  compareResults,
  float32Bits,
  replayEvent,
  summarize,
  type ReplayDeps,
  type ReplayReport,
  type ReplayVerdict,
  type ReplayedResult,
  type ReplayedWindow,
  type StatusSummary,
} from './replay.ts';
