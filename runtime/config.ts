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
  // --- the device daemon (`vigil run`): firmware bridge, telemetry, checkpoints ---------------------
  /** The device's cohort key (signed commands may target a cohort); null for none. */
  readonly cohort: string | null;
  /** Firmware version carried in telemetry until the firmware reports another. */
  readonly firmwareVersion: string;
  /** Unix socket of the firmware bridge (null: `<dataDir>/bridge.sock`). */
  readonly bridgeSocket: string | null;
  /** Also serve the bridge on TCP loopback, `HOST:PORT` (null: no TCP). */
  readonly bridgeTcp: string | null;
  /** Broker URL for telemetry and updates (`mqtt://`, `mqtts://`); null: reports stay in the outbox. */
  readonly mqttUrl: string | null;
  readonly mqttProtocol: 'auto' | '3.1.1' | '5';
  /** Longest wait between reconnect attempts to the broker. */
  readonly mqttReconnectMaxDelayMs: number;
  /** TLS (mqtts://): CA, client certificate and key files (PEM); null for none. */
  readonly mqttCaFile: string | null;
  readonly mqttCertFile: string | null;
  readonly mqttKeyFile: string | null;
  /** MQTT user name (the password comes from VIGIL_MQTT_PASSWORD, never from this file). */
  readonly mqttUsername: string | null;
  /** How often the daemon signs an audit checkpoint for the collector (0: only at shutdown). */
  readonly checkpointIntervalS: number;
  /** Wait after a report interval ends before closing it (windows in flight still land in it). */
  readonly reportCloseDelayMs: number;
  /** Probation fallback and latency rates are judged from this many results on (lifecycle policy). */
  readonly probationMinRateWindows: number;
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
  cohort: null,
  firmwareVersion: 'unknown',
  bridgeSocket: null,
  bridgeTcp: null,
  mqttUrl: null,
  mqttProtocol: 'auto',
  mqttReconnectMaxDelayMs: 30_000,
  mqttCaFile: null,
  mqttCertFile: null,
  mqttKeyFile: null,
  mqttUsername: null,
  checkpointIntervalS: 900,
  reportCloseDelayMs: 500,
  probationMinRateWindows: 100,
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

function nullable(check: Checker): Checker {
  return (value, field) => (value === null ? null : check(value, field));
}

function pattern(re: RegExp, what: string): Checker {
  return (value, field) => {
    if (typeof value !== 'string' || value.length > 256 || !re.test(value)) {
      throw new ConfigError('BAD_VALUE', `${field} must be ${what}`);
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
  cohort: nullable(
    pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a cohort id (letters, digits, ._-; at most 64)'),
  ),
  firmwareVersion: pattern(/^[\x21-\x7e]{1,128}$/, 'printable text without spaces (at most 128 characters)'),
  bridgeSocket: nullable(text),
  bridgeTcp: nullable(pattern(/^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/, 'a loopback HOST:PORT')),
  mqttUrl: nullable(pattern(/^(mqtts?|tcp|ssl):\/\/[^\s]+$/, 'an mqtt://, mqtts://, tcp:// or ssl:// URL')),
  mqttProtocol: oneOf(['auto', '3.1.1', '5']),
  mqttReconnectMaxDelayMs: integer(100, 3_600_000),
  mqttCaFile: nullable(text),
  mqttCertFile: nullable(text),
  mqttKeyFile: nullable(text),
  mqttUsername: nullable(text),
  checkpointIntervalS: integer(0, 7 * 86_400),
  reportCloseDelayMs: integer(0, 60_000),
  probationMinRateWindows: integer(1, 10_000_000),
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
