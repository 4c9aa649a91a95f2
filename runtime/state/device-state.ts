// Typed access to the device state tables (schema.ts). Slot contents are tagged unions stored as JSON
// (readable with the sqlite3 shell during an investigation) and parsed back field by field. Callers
// group writes with `transaction` so that a state change and its audit record commit together.
import type Database from 'better-sqlite3';
import type { BundleRevocation } from '../trust/index.ts';
import { StateError, stateErrorFrom } from './db.ts';

export type DeploymentStage = 'shadow' | 'canary' | 'full';

/** What may still happen to an installed bundle. */
export type BundleState = 'installed' | 'failed' | 'revoked';

export type InstallSource = 'local' | 'mqtt';

export interface ApprovalRecord {
  readonly kid: string;
  readonly role: string;
  readonly reviewer: string;
  readonly timeMs: number;
  readonly scope: string | null;
}

export interface InstalledBundle {
  readonly manifestSha256: string;
  readonly bundleId: string;
  readonly family: string;
  readonly version: string;
  readonly sequence: number;
  /** The signed manifest payload, exactly as approved. */
  readonly manifestBytes: Uint8Array;
  readonly approvals: readonly ApprovalRecord[];
  /**
   * The widest deployment stage the approvals allow under the trust store's release policy (as last
   * verified: at install, when approvals widened, at promotion, after a trust rotation).
   */
  readonly approvedFor: DeploymentStage;
  /**
   * The COSE_Sign_Tagged bytes (manifest and every approval) exactly as received, so that the
   * signatures can be verified again against a later trust store; null for bundles installed by a
   * runtime that did not keep them (their approval records are re-checked instead).
   */
  readonly coseSign: Uint8Array | null;
  /** SHA-256 of the .vbundle file as received. */
  readonly containerSha256: string;
  readonly bytes: number;
  readonly state: BundleState;
  /** Why it failed or was revoked (plain text for status and audit). */
  readonly stateDetail: string | null;
  readonly source: InstallSource;
  readonly transferId: string | null;
  readonly installedAtMs: number;
}

/** Why a bundle was withdrawn from serving before its rollback (revocation, approvals no longer valid). */
export type WithdrawalReason = 'revoked' | 'approval-withdrawn';

/** How the active bundle of a family serves. */
export type ActiveMode =
  | { readonly kind: 'model' }
  /** The model must not run any more and its rollback is under way (committed together with the
   * revocation, before any other bundle is loaded): the declared fallback answers meanwhile, and a
   * boot finds and completes an interrupted rollback. */
  | { readonly kind: 'withdrawn'; readonly reason: WithdrawalReason; readonly detail: string }
  /** The model must not run (revoked, or rolled back with nothing to roll back to): the bundle's
   * declared fallback answers every window (ModelRunner.setOverride, reason MODEL_REVOKED). */
  | {
      readonly kind: 'rule-fallback';
      readonly reason: WithdrawalReason | 'rolled-back';
      readonly detail: string;
    };

export interface ProbationCounters {
  readonly windows: number;
  readonly inferenceErrors: number;
  readonly deadlineMisses: number;
  /** Fallback results that count against the bundle (not forced, not the quality gate's). */
  readonly fallbacks: number;
  /** Results slower than the policy's latency p99 bound (p99 > bound ⇔ slow > n − ⌈0.99 n⌉). */
  readonly slowWindows: number;
}

export const ZERO_PROBATION: ProbationCounters = Object.freeze({
  windows: 0,
  inferenceErrors: 0,
  deadlineMisses: 0,
  fallbacks: 0,
  slowWindows: 0,
});

export type Probation =
  | { readonly kind: 'none' }
  | { readonly kind: 'running'; readonly startedAtMs: number; readonly counters: ProbationCounters };

/** How the active bundle got there. */
export type Activation =
  | { readonly via: 'first-install' }
  | { readonly via: 'promotion'; readonly scope: 'canary' | 'full'; readonly by: string }
  | { readonly via: 'rollback'; readonly from: string | null; readonly by: string };

export interface StatusCounts {
  readonly ok: number;
  readonly indeterminate: number;
  readonly fallback: number;
  /** Model alerts and declared-rule alerts. */
  readonly alerts: number;
}

export const ZERO_COUNTS: StatusCounts = Object.freeze({ ok: 0, indeterminate: 0, fallback: 0, alerts: 0 });

export interface ShadowCounters {
  readonly windows: number;
  /** Windows where candidate and active agree on status kind (and label when both are ok). */
  readonly agreements: number;
  readonly active: StatusCounts;
  readonly candidate: StatusCounts;
}

export const ZERO_SHADOW: ShadowCounters = Object.freeze({
  windows: 0,
  agreements: 0,
  active: ZERO_COUNTS,
  candidate: ZERO_COUNTS,
});

export interface ActiveSlot {
  readonly slot: 'active';
  readonly family: string;
  readonly manifestSha256: string;
  readonly sinceMs: number;
  readonly mode: ActiveMode;
  readonly probation: Probation;
  readonly activation: Activation;
}

export interface CandidateSlot {
  readonly slot: 'candidate';
  readonly family: string;
  readonly manifestSha256: string;
  readonly sinceMs: number;
  /** A candidate always runs in shadow; how far it may go is its bundle's `approvedFor`. */
  readonly stage: 'shadow';
  readonly shadow: ShadowCounters;
}

export interface LastKnownGoodSlot {
  readonly slot: 'last-known-good';
  readonly family: string;
  readonly manifestSha256: string;
  readonly sinceMs: number;
}

export type Slot = ActiveSlot | CandidateSlot | LastKnownGoodSlot;
export type SlotName = Slot['slot'];

export interface FamilySlots {
  readonly family: string;
  readonly active: ActiveSlot | null;
  readonly candidate: CandidateSlot | null;
  readonly lastKnownGood: LastKnownGoodSlot | null;
}

/** Outputs of a bundle suppressed: its declared fallback answers whenever it is the active model. */
export interface Suppression {
  readonly bundleId: string;
  readonly family: string;
  readonly sinceMs: number;
  readonly reason: string;
  /** Who asked: `policy` (the signed monitoring policy's safe action), `local:<user>`, … */
  readonly actor: string;
}

export type FrozenState =
  | { readonly frozen: false }
  | { readonly frozen: true; readonly sinceMs: number; readonly by: string; readonly reason: string };

export type CommandStatus = 'pending' | 'accepted' | 'rejected';

export interface CommandRow {
  readonly nonce: string;
  readonly commandSha256: string;
  readonly kind: string;
  readonly receivedAtMs: number;
  readonly expiresAtMs: number;
  readonly status: CommandStatus;
  readonly code: string | null;
  readonly bytes: Uint8Array | null;
}

export interface TrustRecord {
  readonly version: number;
  readonly sha256: string;
  readonly bytes: Uint8Array;
  readonly acceptedAtMs: number;
  readonly source: string;
}

interface BundleRow {
  manifest_sha256: string;
  bundle_id: string;
  family: string;
  version: string;
  sequence: number;
  manifest: Uint8Array;
  approvals: string;
  approved_for: DeploymentStage;
  container_sha256: string;
  bytes: number;
  state: BundleState;
  state_detail: string | null;
  source: InstallSource;
  transfer_id: string | null;
  installed_at_ms: number;
  cose_sign: Uint8Array | null;
}

interface SlotRow {
  family: string;
  slot: SlotName;
  manifest_sha256: string;
  since_ms: number;
  detail: string;
}

function corrupt(what: string): never {
  throw new StateError('DB_CORRUPT', `the device state holds an invalid ${what}`);
}

function json(text: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return corrupt(what);
}

function obj(value: unknown, what: string): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : corrupt(what);
}

function num(value: unknown, what: string): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : corrupt(what);
}

function str(value: unknown, what: string): string {
  return typeof value === 'string' ? value : corrupt(what);
}

function counts(value: unknown): StatusCounts {
  const v = obj(value, 'status counts');
  return {
    ok: num(v.ok, 'counts.ok'),
    indeterminate: num(v.indeterminate, 'counts.indeterminate'),
    fallback: num(v.fallback, 'counts.fallback'),
    alerts: num(v.alerts, 'counts.alerts'),
  };
}

function probationOf(value: unknown): Probation {
  const v = obj(value, 'probation');
  switch (v.kind) {
    case 'none':
      return { kind: 'none' };
    case 'running': {
      const c = obj(v.counters, 'probation counters');
      return {
        kind: 'running',
        startedAtMs: num(v.startedAtMs, 'probation.startedAtMs'),
        counters: {
          windows: num(c.windows, 'probation.windows'),
          inferenceErrors: num(c.inferenceErrors, 'probation.inferenceErrors'),
          deadlineMisses: num(c.deadlineMisses, 'probation.deadlineMisses'),
          fallbacks: num(c.fallbacks, 'probation.fallbacks'),
          slowWindows: num(c.slowWindows, 'probation.slowWindows'),
        },
      };
    }
    default:
      return corrupt('probation state');
  }
}

function modeOf(value: unknown): ActiveMode {
  const v = obj(value, 'active mode');
  switch (v.kind) {
    case 'model':
      return { kind: 'model' };
    case 'withdrawn': {
      const reason =
        v.reason === 'revoked' || v.reason === 'approval-withdrawn' ? v.reason : corrupt('mode reason');
      return { kind: 'withdrawn', reason, detail: str(v.detail, 'mode detail') };
    }
    case 'rule-fallback': {
      const reason =
        v.reason === 'revoked' || v.reason === 'rolled-back' || v.reason === 'approval-withdrawn'
          ? v.reason
          : corrupt('mode reason');
      return { kind: 'rule-fallback', reason, detail: str(v.detail, 'mode detail') };
    }
    default:
      return corrupt('active mode');
  }
}

function activationOf(value: unknown): Activation {
  const v = obj(value, 'activation');
  switch (v.via) {
    case 'first-install':
      return { via: 'first-install' };
    case 'promotion': {
      const scope = v.scope === 'canary' || v.scope === 'full' ? v.scope : corrupt('activation scope');
      return { via: 'promotion', scope, by: str(v.by, 'activation.by') };
    }
    case 'rollback':
      return {
        via: 'rollback',
        from: v.from === null ? null : str(v.from, 'activation.from'),
        by: str(v.by, 'activation.by'),
      };
    default:
      return corrupt('activation');
  }
}

function slotOf(row: SlotRow): Slot {
  const detail = json(row.detail, `${row.slot} slot detail`);
  const base = { family: row.family, manifestSha256: row.manifest_sha256, sinceMs: row.since_ms };
  switch (row.slot) {
    case 'active':
      return {
        slot: 'active',
        ...base,
        mode: modeOf(detail.mode),
        probation: probationOf(detail.probation),
        activation: activationOf(detail.activation),
      };
    case 'candidate': {
      const s = obj(detail.shadow, 'shadow counters');
      return {
        slot: 'candidate',
        ...base,
        stage: 'shadow',
        shadow: {
          windows: num(s.windows, 'shadow.windows'),
          agreements: num(s.agreements, 'shadow.agreements'),
          active: counts(s.active),
          candidate: counts(s.candidate),
        },
      };
    }
    case 'last-known-good':
      return { slot: 'last-known-good', ...base };
  }
}

function detailOf(slot: Slot): string {
  switch (slot.slot) {
    case 'active':
      return JSON.stringify({ mode: slot.mode, probation: slot.probation, activation: slot.activation });
    case 'candidate':
      return JSON.stringify({ stage: slot.stage, shadow: slot.shadow });
    case 'last-known-good':
      return '{}';
  }
}

function bundleOf(row: BundleRow): InstalledBundle {
  const approvals = JSON.parse(row.approvals) as unknown;
  if (!Array.isArray(approvals)) corrupt('approval list');
  return {
    manifestSha256: row.manifest_sha256,
    bundleId: row.bundle_id,
    family: row.family,
    version: row.version,
    sequence: row.sequence,
    manifestBytes: new Uint8Array(row.manifest),
    approvals: approvals as ApprovalRecord[],
    approvedFor: row.approved_for,
    coseSign: row.cose_sign === null ? null : new Uint8Array(row.cose_sign),
    containerSha256: row.container_sha256,
    bytes: row.bytes,
    state: row.state,
    stateDetail: row.state_detail,
    source: row.source,
    transferId: row.transfer_id,
    installedAtMs: row.installed_at_ms,
  };
}

/** A revocation's identity: the same selector twice is one revocation. */
export function revocationSelector(r: BundleRevocation): string {
  switch (r.by) {
    case 'bundleId':
      return `bundleId:${r.bundleId}`;
    case 'version':
      return `version:${r.modelFamily}@${r.version}`;
    case 'manifest':
      return `manifest:${r.manifestSha256}`;
  }
}

export class DeviceState {
  constructor(readonly db: Database.Database) {}

  /** Runs `fn` in one transaction (all or nothing); SQLite errors become StateError codes. */
  transaction<T>(action: string, fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (error) {
      throw stateErrorFrom(error, action);
    }
  }

  // --- meta -------------------------------------------------------------------------------------

  meta(key: string): unknown {
    const row = this.db.prepare('SELECT value FROM device_meta WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row ? (JSON.parse(row.value) as unknown) : undefined;
  }

  setMeta(key: string, value: unknown): void {
    this.db
      .prepare(
        'INSERT INTO device_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, JSON.stringify(value));
  }

  frozen(): FrozenState {
    const value = this.meta('frozen');
    if (value === undefined) return { frozen: false };
    const v = obj(value, 'frozen flag');
    if (v.frozen === false) return { frozen: false };
    if (v.frozen !== true) corrupt('frozen flag');
    return {
      frozen: true,
      sinceMs: num(v.sinceMs, 'frozen.sinceMs'),
      by: str(v.by, 'frozen.by'),
      reason: str(v.reason, 'frozen.reason'),
    };
  }

  setFrozen(state: FrozenState): void {
    this.setMeta('frozen', state);
  }

  // --- trust ------------------------------------------------------------------------------------

  currentTrust(): TrustRecord | null {
    const row = this.db.prepare('SELECT * FROM trust_history ORDER BY version DESC LIMIT 1').get() as
      | { version: number; sha256: string; bytes: Uint8Array; accepted_at_ms: number; source: string }
      | undefined;
    if (!row) return null;
    return {
      version: row.version,
      sha256: row.sha256,
      bytes: new Uint8Array(row.bytes),
      acceptedAtMs: row.accepted_at_ms,
      source: row.source,
    };
  }

  saveTrust(record: TrustRecord): void {
    this.db
      .prepare(
        'INSERT INTO trust_history (version, sha256, bytes, accepted_at_ms, source) VALUES (?, ?, ?, ?, ?)',
      )
      .run(record.version, record.sha256, record.bytes, record.acceptedAtMs, record.source);
  }

  // --- bundles ----------------------------------------------------------------------------------

  bundle(manifestSha256: string): InstalledBundle | undefined {
    const row = this.db.prepare('SELECT * FROM bundles WHERE manifest_sha256 = ?').get(manifestSha256) as
      BundleRow | undefined;
    return row ? bundleOf(row) : undefined;
  }

  bundleByContainer(containerSha256: string): InstalledBundle | undefined {
    const row = this.db.prepare('SELECT * FROM bundles WHERE container_sha256 = ?').get(containerSha256) as
      BundleRow | undefined;
    return row ? bundleOf(row) : undefined;
  }

  bundles(): InstalledBundle[] {
    return (
      this.db.prepare('SELECT * FROM bundles ORDER BY family, sequence, installed_at_ms').all() as BundleRow[]
    ).map(bundleOf);
  }

  insertBundle(b: InstalledBundle): void {
    this.db
      .prepare(
        `INSERT INTO bundles (manifest_sha256, bundle_id, family, version, sequence, manifest, approvals,
           approved_for, container_sha256, bytes, state, state_detail, source, transfer_id, installed_at_ms,
           cose_sign)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        b.manifestSha256,
        b.bundleId,
        b.family,
        b.version,
        b.sequence,
        b.manifestBytes,
        JSON.stringify(b.approvals),
        b.approvedFor,
        b.containerSha256,
        b.bytes,
        b.state,
        b.stateDetail,
        b.source,
        b.transferId,
        b.installedAtMs,
        b.coseSign,
      );
  }

  /** Wider approvals for the same manifest (the container that carried them replaces the old one). */
  setApprovals(
    manifestSha256: string,
    approvals: readonly ApprovalRecord[],
    approvedFor: DeploymentStage,
    containerSha256: string,
    coseSign: Uint8Array,
  ): void {
    this.db
      .prepare(
        `UPDATE bundles SET approvals = ?, approved_for = ?, container_sha256 = ?, cose_sign = ?
         WHERE manifest_sha256 = ?`,
      )
      .run(JSON.stringify(approvals), approvedFor, containerSha256, coseSign, manifestSha256);
  }

  /** What the same approvals allow after a re-verification (another trust store). */
  setApprovedFor(manifestSha256: string, approvedFor: DeploymentStage): void {
    this.db
      .prepare('UPDATE bundles SET approved_for = ? WHERE manifest_sha256 = ?')
      .run(approvedFor, manifestSha256);
  }

  setBundleState(manifestSha256: string, state: BundleState, detail: string | null): void {
    this.db
      .prepare('UPDATE bundles SET state = ?, state_detail = ? WHERE manifest_sha256 = ?')
      .run(state, detail, manifestSha256);
  }

  deleteBundle(manifestSha256: string): void {
    this.db.prepare('DELETE FROM bundles WHERE manifest_sha256 = ?').run(manifestSha256);
  }

  // --- anti-rollback ----------------------------------------------------------------------------

  /** Per family: the highest sequence ever installed and every installed sequence (runtime/verify). */
  installedFamilies(): Map<string, { highestSequence: number; sequences: number[] }> {
    const out = new Map<string, { highestSequence: number; sequences: number[] }>();
    const rows = this.db
      .prepare('SELECT family, sequence FROM family_sequences ORDER BY family, sequence')
      .all() as { family: string; sequence: number }[];
    for (const row of rows) {
      const entry = out.get(row.family) ?? { highestSequence: 0, sequences: [] };
      entry.sequences.push(row.sequence);
      entry.highestSequence = Math.max(entry.highestSequence, row.sequence);
      out.set(row.family, entry);
    }
    return out;
  }

  addSequence(family: string, sequence: number): void {
    this.db
      .prepare('INSERT OR IGNORE INTO family_sequences (family, sequence) VALUES (?, ?)')
      .run(family, sequence);
  }

  // --- slots ------------------------------------------------------------------------------------

  families(): string[] {
    return (
      this.db.prepare('SELECT DISTINCT family FROM slots ORDER BY family').all() as { family: string }[]
    ).map((r) => r.family);
  }

  slots(family: string): FamilySlots {
    const rows = this.db.prepare('SELECT * FROM slots WHERE family = ?').all(family) as SlotRow[];
    let active: ActiveSlot | null = null;
    let candidate: CandidateSlot | null = null;
    let lastKnownGood: LastKnownGoodSlot | null = null;
    for (const row of rows) {
      const slot = slotOf(row);
      switch (slot.slot) {
        case 'active':
          active = slot;
          break;
        case 'candidate':
          candidate = slot;
          break;
        case 'last-known-good':
          lastKnownGood = slot;
          break;
      }
    }
    return { family, active, candidate, lastKnownGood };
  }

  allSlots(): FamilySlots[] {
    return this.families().map((f) => this.slots(f));
  }

  /** The slot a bundle occupies, if any. */
  slotOfBundle(manifestSha256: string): Slot | undefined {
    const row = this.db.prepare('SELECT * FROM slots WHERE manifest_sha256 = ?').get(manifestSha256) as
      SlotRow | undefined;
    return row ? slotOf(row) : undefined;
  }

  putSlot(slot: Slot): void {
    this.db
      .prepare(
        `INSERT INTO slots (family, slot, manifest_sha256, since_ms, detail) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (family, slot) DO UPDATE SET manifest_sha256 = excluded.manifest_sha256,
           since_ms = excluded.since_ms, detail = excluded.detail`,
      )
      .run(slot.family, slot.slot, slot.manifestSha256, slot.sinceMs, detailOf(slot));
  }

  clearSlot(family: string, slot: SlotName): void {
    this.db.prepare('DELETE FROM slots WHERE family = ? AND slot = ?').run(family, slot);
  }

  // --- output suppressions ---------------------------------------------------------------------

  suppressions(): Suppression[] {
    return (
      this.db.prepare('SELECT * FROM suppressions ORDER BY since_ms, bundle_id').all() as {
        bundle_id: string;
        family: string;
        since_ms: number;
        reason: string;
        actor: string;
      }[]
    ).map((r) => ({
      bundleId: r.bundle_id,
      family: r.family,
      sinceMs: r.since_ms,
      reason: r.reason,
      actor: r.actor,
    }));
  }

  /** Adds a suppression; false when the bundle was suppressed already (the first one stays). */
  addSuppression(s: Suppression): boolean {
    return (
      this.db
        .prepare(
          'INSERT OR IGNORE INTO suppressions (bundle_id, family, since_ms, reason, actor) VALUES (?, ?, ?, ?, ?)',
        )
        .run(s.bundleId, s.family, s.sinceMs, s.reason, s.actor).changes === 1
    );
  }

  /** Removes a suppression; false when there was none. */
  deleteSuppression(bundleId: string): boolean {
    return this.db.prepare('DELETE FROM suppressions WHERE bundle_id = ?').run(bundleId).changes === 1;
  }

  // --- revocations ------------------------------------------------------------------------------

  revocations(): BundleRevocation[] {
    return (
      this.db.prepare('SELECT revocation FROM revocations ORDER BY rowid').all() as { revocation: string }[]
    ).map((r) => JSON.parse(r.revocation) as BundleRevocation);
  }

  /** Adds a revocation; returns false when the same selector was already revoked. */
  addRevocation(revocation: BundleRevocation, source: string): boolean {
    return (
      this.db
        .prepare('INSERT OR IGNORE INTO revocations (selector, revocation, source) VALUES (?, ?, ?)')
        .run(revocationSelector(revocation), JSON.stringify(revocation), source).changes === 1
    );
  }

  // --- commands (replay protection, pending work) -----------------------------------------------

  command(nonce: string): CommandRow | undefined {
    const row = this.db.prepare('SELECT * FROM commands WHERE nonce = ?').get(nonce) as
      | {
          nonce: string;
          command_sha256: string;
          kind: string;
          received_at_ms: number;
          expires_at_ms: number;
          status: CommandStatus;
          code: string | null;
          bytes: Uint8Array | null;
        }
      | undefined;
    if (!row) return undefined;
    return {
      nonce: row.nonce,
      commandSha256: row.command_sha256,
      kind: row.kind,
      receivedAtMs: row.received_at_ms,
      expiresAtMs: row.expires_at_ms,
      status: row.status,
      code: row.code,
      bytes: row.bytes === null ? null : new Uint8Array(row.bytes),
    };
  }

  pendingCommands(): CommandRow[] {
    return (
      this.db
        .prepare("SELECT nonce FROM commands WHERE status = 'pending' ORDER BY received_at_ms")
        .all() as {
        nonce: string;
      }[]
    ).flatMap((r) => {
      const row = this.command(r.nonce);
      return row ? [row] : [];
    });
  }

  insertCommand(row: CommandRow): void {
    this.db
      .prepare(
        `INSERT INTO commands (nonce, command_sha256, kind, received_at_ms, expires_at_ms, status, code, bytes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.nonce,
        row.commandSha256,
        row.kind,
        row.receivedAtMs,
        row.expiresAtMs,
        row.status,
        row.code,
        row.bytes,
      );
  }

  /** Settles a command; its bytes are dropped (the nonce stays until the command has expired). */
  resolveCommand(nonce: string, status: Exclude<CommandStatus, 'pending'>, code: string | null): void {
    this.db
      .prepare('UPDATE commands SET status = ?, code = ?, bytes = NULL WHERE nonce = ?')
      .run(status, code, nonce);
  }

  /** Forgets settled commands expired before `beforeMs` (they can no longer be replayed anyway). */
  pruneCommands(beforeMs: number): number {
    return this.db
      .prepare("DELETE FROM commands WHERE status != 'pending' AND expires_at_ms < ?")
      .run(beforeMs).changes;
  }
}
