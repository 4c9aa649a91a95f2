// Device MQTT client options: frozen defaults with units in the names, merged with the user's
// config and validated field by field at start (DESIGN.md "Options").
import { BACKOFF_DEFAULTS } from './backoff.ts';
import type { BackoffOptions } from './backoff.ts';
import { MqttError } from './errors.ts';
import { checkId } from './topics.ts';

/** TLS and client-certificate options (PEM contents; the config layer reads the files). */
export interface TlsOptions {
  /** Trusted CA certificate(s) for the broker; absent = the system store. */
  readonly ca?: string | Buffer;
  /** Client certificate and key for mutual TLS; both or neither. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** SNI and the name checked against the broker certificate, when the URL host differs. */
  readonly servername?: string;
  /** Verify the broker certificate (default true). False only for lab brokers. */
  readonly rejectUnauthorized: boolean;
}

export type ProtocolChoice = 'auto' | '3.1.1' | '5';

export interface DeviceClientOptions {
  /** `mqtt://host:port` or `mqtts://host:port` (TLS options need mqtts). */
  readonly url: string;
  readonly fleet: string;
  readonly device: string;
  /** Announced in the birth message; `vigil push --cohort` targets by it. */
  readonly cohort?: string;
  /** Stable across restarts so the broker keeps the QoS 1 session (default `vigil-{fleet}-{device}`). */
  readonly clientId: string;
  /** `auto` tries MQTT 5 and falls back to 3.1.1 when the broker refuses the protocol level. */
  readonly protocol: ProtocolChoice;
  readonly keepaliveS: number;
  readonly connectTimeoutMs: number;
  /** MQTT 5 session expiry; the session (subscriptions, queued QoS 1 messages) outlives a disconnect. */
  readonly sessionExpiryS: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: TlsOptions;
  readonly reconnect: BackoffOptions;
  /** Seed for the reconnect jitter (mixed with the device id). */
  readonly jitterSeed: number;
  /** Most unacknowledged QoS 1 publishes at once (MQTT packet ids allow 65535). */
  readonly inflightWindow: number;
  /** Inbound command payloads above this are dropped with COMMAND_TOO_LARGE. */
  readonly maxCommandBytes: number;
  /** Inbound update-transfer payloads above this are dropped with UPDATE_TOO_LARGE. */
  readonly maxUpdateMessageBytes: number;
}

export const DEVICE_CLIENT_DEFAULTS = Object.freeze({
  protocol: 'auto',
  keepaliveS: 30,
  connectTimeoutMs: 10_000,
  sessionExpiryS: 7 * 24 * 3600,
  reconnect: BACKOFF_DEFAULTS,
  jitterSeed: 0,
  inflightWindow: 64,
  maxCommandBytes: 64 * 1024,
  maxUpdateMessageBytes: 1024 * 1024 + 1024,
});

const KNOWN = new Set([
  'url',
  'fleet',
  'device',
  'cohort',
  'clientId',
  'protocol',
  'keepaliveS',
  'connectTimeoutMs',
  'sessionExpiryS',
  'username',
  'password',
  'tls',
  'reconnect',
  'jitterSeed',
  'inflightWindow',
  'maxCommandBytes',
  'maxUpdateMessageBytes',
]);

function fail(message: string): never {
  throw new MqttError('BAD_OPTIONS', message);
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function int(r: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const v = r[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(`${key} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function str(r: Record<string, unknown>, key: string): string | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) fail(`${key} must be a non-empty string`);
  return v;
}

function pem(r: Record<string, unknown>, key: string): string | Buffer | undefined {
  const v = r[key];
  if (v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string' && v.includes('-----BEGIN ')) return v;
  return fail(`tls.${key} must be PEM text or a Buffer`);
}

export function resolveTls(value: unknown): TlsOptions {
  const r = record(value, 'tls');
  for (const key of Object.keys(r)) {
    if (!['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'].includes(key))
      fail(`unknown option tls.${key}`);
  }
  const reject = r.rejectUnauthorized ?? true;
  if (typeof reject !== 'boolean') fail('tls.rejectUnauthorized must be a boolean');
  const out: { -readonly [K in keyof TlsOptions]: TlsOptions[K] } = { rejectUnauthorized: reject };
  const ca = pem(r, 'ca');
  const cert = pem(r, 'cert');
  const key = pem(r, 'key');
  if ((cert === undefined) !== (key === undefined)) fail('tls.cert and tls.key go together');
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  const servername = str(r, 'servername');
  if (servername !== undefined) out.servername = servername;
  return Object.freeze(out);
}

function resolveBackoff(value: unknown): BackoffOptions {
  const r = record(value ?? {}, 'reconnect');
  for (const key of Object.keys(r)) {
    if (!(key in BACKOFF_DEFAULTS)) fail(`unknown option reconnect.${key}`);
  }
  const initialDelayMs = int(r, 'initialDelayMs', BACKOFF_DEFAULTS.initialDelayMs, 1, 3_600_000);
  const maxDelayMs = int(r, 'maxDelayMs', BACKOFF_DEFAULTS.maxDelayMs, initialDelayMs, 3_600_000);
  const multiplier = r.multiplier ?? BACKOFF_DEFAULTS.multiplier;
  if (typeof multiplier !== 'number' || !(multiplier >= 1 && multiplier <= 10)) {
    fail('reconnect.multiplier must be a number in [1, 10]');
  }
  const jitterRatio = r.jitterRatio ?? BACKOFF_DEFAULTS.jitterRatio;
  if (typeof jitterRatio !== 'number' || !(jitterRatio >= 0 && jitterRatio <= 1)) {
    fail('reconnect.jitterRatio must be a number in [0, 1]');
  }
  return Object.freeze({ initialDelayMs, maxDelayMs, multiplier, jitterRatio });
}

/** Validates `input` (unknown: it comes from a config file) and fills in the defaults. */
export function resolveDeviceClientOptions(input: unknown): DeviceClientOptions {
  const r = record(input, 'MQTT client options');
  for (const key of Object.keys(r)) if (!KNOWN.has(key)) fail(`unknown MQTT client option ${key}`);
  const url = str(r, 'url') ?? fail('url is required');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(`url ${JSON.stringify(url)} is not a URL`);
  }
  if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:'].includes(parsed.protocol)) {
    fail('url must be mqtt://, mqtts://, tcp:// or ssl://');
  }
  try {
    decodeURIComponent(parsed.username);
    decodeURIComponent(parsed.password);
  } catch {
    fail('url credentials have a malformed percent-escape');
  }
  const secure = parsed.protocol === 'mqtts:' || parsed.protocol === 'ssl:';
  const fleet = wrap(() => checkId('fleet', str(r, 'fleet') ?? fail('fleet is required')));
  const device = wrap(() => checkId('device', str(r, 'device') ?? fail('device is required')));
  const cohortRaw = str(r, 'cohort');
  const cohort = cohortRaw === undefined ? undefined : wrap(() => checkId('cohort', cohortRaw));
  const clientId = str(r, 'clientId') ?? `vigil-${fleet}-${device}`;
  if (clientId.length > 128) fail('clientId must be at most 128 characters');
  const protocol = r.protocol ?? DEVICE_CLIENT_DEFAULTS.protocol;
  if (protocol !== 'auto' && protocol !== '3.1.1' && protocol !== '5') {
    fail("protocol must be 'auto', '3.1.1' or '5'");
  }
  const tls = r.tls === undefined ? undefined : resolveTls(r.tls);
  if (tls && !secure) fail('tls options need an mqtts:// (or ssl://) url');
  const username = str(r, 'username');
  const password = str(r, 'password');
  if (password !== undefined && username === undefined) fail('password needs a username');
  const options: { -readonly [K in keyof DeviceClientOptions]: DeviceClientOptions[K] } = {
    url,
    fleet,
    device,
    clientId,
    protocol,
    keepaliveS: int(r, 'keepaliveS', DEVICE_CLIENT_DEFAULTS.keepaliveS, 0, 65_535),
    connectTimeoutMs: int(r, 'connectTimeoutMs', DEVICE_CLIENT_DEFAULTS.connectTimeoutMs, 100, 600_000),
    sessionExpiryS: int(r, 'sessionExpiryS', DEVICE_CLIENT_DEFAULTS.sessionExpiryS, 0, 0xffffffff),
    reconnect: resolveBackoff(r.reconnect),
    jitterSeed: int(r, 'jitterSeed', DEVICE_CLIENT_DEFAULTS.jitterSeed, 0, 0xffffffff),
    inflightWindow: int(r, 'inflightWindow', DEVICE_CLIENT_DEFAULTS.inflightWindow, 1, 65_535),
    maxCommandBytes: int(r, 'maxCommandBytes', DEVICE_CLIENT_DEFAULTS.maxCommandBytes, 16, 16 * 1024 * 1024),
    maxUpdateMessageBytes: int(
      r,
      'maxUpdateMessageBytes',
      DEVICE_CLIENT_DEFAULTS.maxUpdateMessageBytes,
      1024,
      64 * 1024 * 1024,
    ),
  };
  if (cohort !== undefined) options.cohort = cohort;
  if (username !== undefined) options.username = username;
  if (password !== undefined) options.password = password;
  if (tls !== undefined) options.tls = tls;
  return Object.freeze(options);
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof MqttError && error.code === 'BAD_TOPIC') {
      throw new MqttError('BAD_OPTIONS', error.message, { cause: error });
    }
    throw error;
  }
}
