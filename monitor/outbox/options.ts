// Outbox bounds: frozen defaults with units in the names, merged with user config and validated
// field by field at start (DESIGN.md "Options").
import { OutboxError } from './errors.ts';

export interface OutboxOptions {
  /** Total payload bytes kept; above it the eviction order applies. */
  readonly outboxMaxBytes: number;
  /** Entries older than this are evicted (all classes), counted like any eviction. */
  readonly outboxMaxAgeS: number;
  /** Largest single payload accepted; larger is a caller bug (ENTRY_TOO_LARGE). */
  readonly outboxMaxEntryBytes: number;
}

export const OUTBOX_DEFAULTS: OutboxOptions = Object.freeze({
  outboxMaxBytes: 16 * 1024 * 1024,
  outboxMaxAgeS: 30 * 24 * 3600,
  outboxMaxEntryBytes: 256 * 1024,
});

const LIMITS: Readonly<Record<keyof OutboxOptions, readonly [number, number]>> = {
  outboxMaxBytes: [256, 4 * 1024 * 1024 * 1024],
  outboxMaxAgeS: [1, 10 * 365 * 24 * 3600],
  outboxMaxEntryBytes: [64, 64 * 1024 * 1024],
};

/** Merges `input` (unknown: it comes from a config file) over the defaults and validates it. */
export function resolveOutboxOptions(input: unknown = {}): OutboxOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new OutboxError('BAD_OPTIONS', 'outbox options must be an object');
  }
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(key in LIMITS)) throw new OutboxError('BAD_OPTIONS', `unknown outbox option ${key}`);
  }
  const out: Record<string, number> = {};
  for (const key of Object.keys(LIMITS) as (keyof OutboxOptions)[]) {
    const value = record[key] ?? OUTBOX_DEFAULTS[key];
    const [min, max] = LIMITS[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new OutboxError('BAD_OPTIONS', `${key} must be an integer in [${min}, ${max}]`);
    }
    out[key] = value;
  }
  const options = out as unknown as OutboxOptions;
  if (options.outboxMaxEntryBytes > options.outboxMaxBytes) {
    throw new OutboxError('BAD_OPTIONS', 'outboxMaxEntryBytes must not exceed outboxMaxBytes');
  }
  return Object.freeze(options);
}
