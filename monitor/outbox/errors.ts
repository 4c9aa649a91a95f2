// One error class for the outbox (DESIGN.md "Errors"): tests assert `code`, not the message.

export type OutboxErrorCode =
  | 'BAD_OPTIONS' // an option is missing, of the wrong type or out of range
  | 'BAD_ENTRY' // unknown class, malformed topic suffix, payload not bytes
  | 'ENTRY_TOO_LARGE' // one payload above `outboxMaxEntryBytes` (a caller bug, not an eviction)
  | 'DB_OPEN_FAILED' // missing directory, not a database
  | 'DB_CORRUPT' // SQLite reports corruption
  | 'DB_FULL' // disk full (SQLITE_FULL)
  | 'DB_READONLY' // the file or directory is not writable
  | 'DB_WRITE_FAILED' // any other write failure
  | 'SCHEMA_TOO_NEW' // written by a newer runtime: refuse rather than guess
  | 'CLOSED'; // used after close()

export class OutboxError extends Error {
  constructor(
    readonly code: OutboxErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutboxError';
  }
}

/** Maps SQLite's error codes onto ours so callers see a stable code. */
export function outboxErrorFrom(error: unknown, action: string): OutboxError {
  if (error instanceof OutboxError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const text = typeof code === 'string' ? code : '';
  const detail = error instanceof Error ? error.message : String(error);
  if (text.startsWith('SQLITE_FULL')) {
    return new OutboxError('DB_FULL', `${action}: the disk is full`, { cause: error });
  }
  if (text.startsWith('SQLITE_READONLY') || text.startsWith('SQLITE_CANTOPEN') || text === 'EACCES') {
    return new OutboxError('DB_READONLY', `${action}: the outbox is not writable (${detail})`, {
      cause: error,
    });
  }
  if (text.startsWith('SQLITE_CORRUPT') || text.startsWith('SQLITE_NOTADB')) {
    return new OutboxError('DB_CORRUPT', `${action}: the outbox database is corrupt`, { cause: error });
  }
  return new OutboxError('DB_WRITE_FAILED', `${action}: ${detail}`, { cause: error });
}
