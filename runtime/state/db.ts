// The device's state database: one SQLite file in WAL mode with full fsync, so that an acknowledged
// write survives a power cut (better-sqlite3 is synchronous: a statement returned means committed).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type StateErrorCode =
  | 'DB_OPEN_FAILED' // missing directory, unwritable file, not a database
  | 'DB_CORRUPT' // SQLite reports corruption
  | 'DB_FULL' // disk full (SQLITE_FULL)
  | 'DB_READONLY' // the file or directory is not writable
  | 'DB_WRITE_FAILED' // any other write failure
  | 'SCHEMA_TOO_NEW' // written by a newer runtime: refuse rather than guess
  | 'SCHEMA_OUTDATED' // opened read-only, but the file needs a migration first
  | 'LOCKED' // another live process holds the device state (one writer at a time)
  | 'KEY_INVALID' // a device key file is malformed, has the wrong size, or is readable by others
  | 'BAD_CHECKPOINT'; // an audit checkpoint that is malformed, unsigned or signed by another key

export class StateError extends Error {
  constructor(
    readonly code: StateErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StateError';
  }
}

/** Maps SQLite's error codes onto ours, so callers and the audit log see a stable code. */
export function stateErrorFrom(error: unknown, action: string): StateError {
  if (error instanceof StateError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const text = typeof code === 'string' ? code : '';
  if (text.startsWith('SQLITE_FULL') || text === 'ENOSPC' || text === 'EDQUOT')
    return new StateError('DB_FULL', `${action}: the disk is full`, { cause: error });
  if (
    text.startsWith('SQLITE_READONLY') ||
    text.startsWith('SQLITE_CANTOPEN') ||
    text === 'EACCES' ||
    text === 'EPERM' ||
    text === 'EROFS'
  ) {
    return new StateError('DB_READONLY', `${action}: the state database is not writable`, { cause: error });
  }
  if (text.startsWith('SQLITE_CORRUPT') || text.startsWith('SQLITE_NOTADB')) {
    return new StateError('DB_CORRUPT', `${action}: the state database is corrupt`, { cause: error });
  }
  return new StateError(
    'DB_WRITE_FAILED',
    `${action}: ${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
    },
  );
}

export type Migration = (db: Database.Database) => void;

export interface OpenStateOptions {
  /**
   * Open an existing file for reading only (status, audit verify/export): nothing is created or
   * migrated, and every write fails with DB_READONLY.
   */
  readonly readonly?: boolean;
}

/** Opens (creating if needed) a database and applies `migrations` in order, each in a transaction. */
export function openStateDb(
  file: string,
  migrations: readonly Migration[],
  options: OpenStateOptions = {},
): Database.Database {
  let db: Database.Database;
  try {
    if (options.readonly === true) {
      if (!fs.existsSync(file)) throw new StateError('DB_OPEN_FAILED', `there is no device state at ${file}`);
      db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
    } else {
      if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
    }
  } catch (error) {
    if (error instanceof StateError) throw error;
    const mapped = stateErrorFrom(error, `opening ${file}`);
    throw mapped.code === 'DB_WRITE_FAILED'
      ? new StateError('DB_OPEN_FAILED', mapped.message, { cause: error })
      : mapped;
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) {
      throw new StateError(
        'SCHEMA_TOO_NEW',
        `${file} has schema ${version}; this runtime knows ${migrations.length}`,
      );
    }
    if (options.readonly === true && version < migrations.length) {
      throw new StateError(
        'SCHEMA_OUTDATED',
        `${file} has schema ${version}; open it once read-write to migrate it to ${migrations.length}`,
      );
    }
    for (let next = version; next < migrations.length; next += 1) {
      const migrate = migrations[next] as Migration;
      db.transaction(() => {
        migrate(db);
        db.pragma(`user_version = ${next + 1}`);
      })();
    }
  } catch (error) {
    db.close();
    throw stateErrorFrom(error, `migrating ${file}`);
  }
  return db;
}
