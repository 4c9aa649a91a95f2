// Public API of device state: the SQLite file (schema, typed slots), the hash-chained audit log with
// signed checkpoints and exports, the encrypted black-box recorder, device keys, the writer lock and
// durable file steps. See docs/lifecycle.md and docs/audit.md.
export {
  StateError,
  openStateDb,
  stateErrorFrom,
  type Migration,
  type OpenStateOptions,
  type StateErrorCode,
} from './db.ts';
export {
  AuditLog,
  GENESIS_HASH,
  auditMigration,
  recordHash,
  verifyChain,
  type AuditBreak,
  type AuditKind,
  type AuditPayload,
  type AuditRecord,
  type AuditRow,
  type AuditVerdict,
  type Checkpoint,
} from './audit.ts';
export {
  CHECKPOINT_CONTENT_TYPE,
  encodeCheckpoint,
  parseCheckpointPayload,
  signCheckpoint,
  verifyCheckpoint,
  type DeviceCheckpoint,
  type VerifiedCheckpoint,
} from './checkpoint.ts';
export {
  auditJsonLine,
  auditTextLine,
  describeVerdict,
  verifyAuditJsonl,
  type AuditJsonLine,
} from './export.ts';
export {
  BlackBox,
  BlackBoxError,
  DEFAULT_BLACKBOX_OPTIONS,
  blackBoxMigration,
  blackBoxSharedWindowsMigration,
  type BlackBoxErrorCode,
  type BlackBoxOptions,
  type PinnedEntry,
  type RecordedWindow,
} from './blackbox.ts';
export { STATE_DB_FILE, STATE_MIGRATIONS } from './schema.ts';
export {
  DeviceState,
  ZERO_COUNTS,
  ZERO_PROBATION,
  ZERO_SHADOW,
  revocationSelector,
  type Activation,
  type ActiveMode,
  type ActiveSlot,
  type ApprovalRecord,
  type BundleState,
  type CandidateSlot,
  type CommandRow,
  type CommandStatus,
  type DeploymentStage,
  type FamilySlots,
  type FrozenState,
  type InstallSource,
  type InstalledBundle,
  type LastKnownGoodSlot,
  type Probation,
  type ProbationCounters,
  type ShadowCounters,
  type Slot,
  type SlotName,
  type StatusCounts,
  type Suppression,
  type TrustRecord,
  type WithdrawalReason,
} from './device-state.ts';
export { STORAGE_KEY_BYTES, deviceKid, loadOrCreateDeviceKey, loadOrCreateStorageKey } from './keys.ts';
export { LOCK_FILE, WriterLock } from './lock.ts';
export {
  copyPrivateDurable,
  createFileExclusiveSync,
  ensureDirSync,
  fsyncPath,
  fsyncTree,
  removeTree,
  renameDurable,
  treeBytes,
  type CopyResult,
} from './fsutil.ts';
