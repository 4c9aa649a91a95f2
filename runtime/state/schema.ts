// The device state schema (issue 5): installed bundles, slots per model family, anti-rollback
// sequences, revocations, the trust document history, flags, and the command replay store. The audit
// chain and the black box live in the same file (one fsync domain), so a state change and its audit
// record commit in one transaction.
import type Database from 'better-sqlite3';
import { auditMigration } from './audit.ts';
import { blackBoxMigration, blackBoxSharedWindowsMigration } from './blackbox.ts';
import type { Migration } from './db.ts';

function deviceStateMigration(db: Database.Database): void {
  db.exec(`
    CREATE TABLE device_meta (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
    CREATE TABLE trust_history (
      version INTEGER PRIMARY KEY,
      sha256 TEXT NOT NULL,
      bytes BLOB NOT NULL,
      accepted_at_ms INTEGER NOT NULL,
      source TEXT NOT NULL
    );
    CREATE TABLE bundles (
      manifest_sha256 TEXT PRIMARY KEY,
      bundle_id TEXT NOT NULL,
      family TEXT NOT NULL,
      version TEXT NOT NULL,
      sequence INTEGER NOT NULL,
      manifest BLOB NOT NULL,
      approvals TEXT NOT NULL,
      approved_for TEXT NOT NULL CHECK (approved_for IN ('shadow', 'canary', 'full')),
      container_sha256 TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('installed', 'failed', 'revoked')),
      state_detail TEXT,
      source TEXT NOT NULL,
      transfer_id TEXT,
      installed_at_ms INTEGER NOT NULL
    );
    CREATE INDEX bundles_family ON bundles (family, sequence);
    CREATE TABLE family_sequences (
      family TEXT NOT NULL,
      sequence INTEGER NOT NULL,
      PRIMARY KEY (family, sequence)
    );
    CREATE TABLE slots (
      family TEXT NOT NULL,
      slot TEXT NOT NULL CHECK (slot IN ('active', 'candidate', 'last-known-good')),
      manifest_sha256 TEXT NOT NULL REFERENCES bundles (manifest_sha256),
      since_ms INTEGER NOT NULL,
      detail TEXT NOT NULL,
      PRIMARY KEY (family, slot)
    );
    CREATE UNIQUE INDEX slots_one_per_bundle ON slots (manifest_sha256);
    CREATE TABLE revocations (
      selector TEXT PRIMARY KEY,
      revocation TEXT NOT NULL,
      source TEXT NOT NULL
    );
    CREATE TABLE commands (
      nonce TEXT PRIMARY KEY,
      command_sha256 TEXT NOT NULL,
      kind TEXT NOT NULL,
      received_at_ms INTEGER NOT NULL,
      expires_at_ms INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
      code TEXT,
      bytes BLOB
    );
  `);
}

/**
 * Schema 4: each bundle keeps its COSE_Sign bytes, so its approvals can be verified again against a
 * later trust store (before a promotion, after a trust rotation). Older rows hold NULL.
 */
function bundleSignaturesMigration(db: Database.Database): void {
  db.exec('ALTER TABLE bundles ADD COLUMN cose_sign BLOB');
}

/**
 * Schema 5: output suppressions in force (a drift policy's `suppress-outputs` safe action, or an
 * operator's), per bundle id, so that they survive model changes and restarts.
 */
function suppressionsMigration(db: Database.Database): void {
  db.exec(`
    CREATE TABLE suppressions (
      bundle_id TEXT PRIMARY KEY,
      family TEXT NOT NULL,
      since_ms INTEGER NOT NULL,
      reason TEXT NOT NULL,
      actor TEXT NOT NULL
    );
  `);
}

/** Every migration of the device state file, in order (the index is the schema version). */
export const STATE_MIGRATIONS: readonly Migration[] = [
  auditMigration,
  blackBoxMigration,
  deviceStateMigration,
  bundleSignaturesMigration,
  suppressionsMigration,
  blackBoxSharedWindowsMigration,
];

export const STATE_DB_FILE = 'state.db';
