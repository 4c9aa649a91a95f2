// Runtime options: frozen defaults with units in their names, merged with a user config file and
// validated field by field at start (a config file is untrusted input: size-capped, typed errors).
import type { BackendPreference } from './inference/backend.ts';

export interface RuntimeConfig {
  readonly deviceId: string;
  readonly fleet: string;
  readonly vendorId: string;
  readonly classId: string;
  /** Where device state (SQLite), staging and the black box live. */
  readonly dataDir: string;
  readonly backend: BackendPreference;
  readonly inferenceDeadlineMs: number;
  readonly maxBatch: number;
  readonly batchMaxWaitMs: number;
  readonly maxStreams: number;
}

export const DEFAULT_CONFIG: RuntimeConfig = Object.freeze({
  deviceId: 'vigil-dev-0001',
  fleet: 'demo',
  vendorId: 'vigil-demo',
  classId: 'wearable-gateway-v1',
  dataDir: '.vigil/device',
  backend: 'auto',
  inferenceDeadlineMs: 50,
  maxBatch: 64,
  batchMaxWaitMs: 2,
  maxStreams: 2048,
});

export const CONFIG_MAX_BYTES = 64 * 1024;

export type ConfigErrorCode = 'TOO_LARGE' | 'NOT_JSON' | 'NOT_OBJECT' | 'UNKNOWN_FIELD' | 'BAD_VALUE';

export class ConfigError extends Error {
  constructor(
    readonly code: ConfigErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

type Checker = (value: unknown, field: string) => unknown;

const text: Checker = (value, field) => {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new ConfigError('BAD_VALUE', `${field} must be a non-empty string of at most 256 characters`);
  }
  return value;
};

function integer(min: number, max: number): Checker {
  return (value, field) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError('BAD_VALUE', `${field} must be an integer in [${min}, ${max}]`);
    }
    return value;
  };
}

function oneOf(options: readonly string[]): Checker {
  return (value, field) => {
    if (typeof value !== 'string' || !options.includes(value)) {
      throw new ConfigError('BAD_VALUE', `${field} must be one of ${options.join(', ')}`);
    }
    return value;
  };
}

const CHECKERS: Readonly<Record<keyof RuntimeConfig, Checker>> = {
  deviceId: text,
  fleet: text,
  vendorId: text,
  classId: text,
  dataDir: text,
  backend: oneOf(['auto', 'node', 'wasm']),
  inferenceDeadlineMs: integer(1, 60_000),
  maxBatch: integer(1, 4096),
  batchMaxWaitMs: integer(0, 1000),
  maxStreams: integer(1, 100_000),
};

/** Merges a partial config (already parsed `unknown`) over the defaults, rejecting unknown fields. */
export function resolveConfig(overrides: unknown, defaults: RuntimeConfig = DEFAULT_CONFIG): RuntimeConfig {
  if (overrides === undefined) return defaults;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new ConfigError('NOT_OBJECT', 'the config must be a JSON object');
  }
  const merged: Record<string, unknown> = { ...defaults };
  for (const [field, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(CHECKERS, field))
      throw new ConfigError('UNKNOWN_FIELD', `unknown config field ${field}`);
    merged[field] = CHECKERS[field as keyof RuntimeConfig](value, field);
  }
  return Object.freeze(merged as unknown as RuntimeConfig);
}

/** Parses config file bytes: size cap first, then JSON, then field-by-field validation. */
export function parseConfigFile(bytes: Uint8Array, defaults: RuntimeConfig = DEFAULT_CONFIG): RuntimeConfig {
  if (bytes.length > CONFIG_MAX_BYTES) {
    throw new ConfigError('TOO_LARGE', `config file of ${bytes.length} bytes exceeds ${CONFIG_MAX_BYTES}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new ConfigError('NOT_JSON', 'the config file is not valid UTF-8 JSON', { cause });
  }
  return resolveConfig(parsed, defaults);
}
