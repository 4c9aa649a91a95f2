// Vigil's MQTT topic tree (docs/telemetry.md "Topics"). Everything lives under `vigil/v1/{fleet}`;
// ids are restricted so they can never contain a level separator or a wildcard.
import { MqttError } from './errors.ts';

export const TOPIC_ROOT = 'vigil/v1';

/** Fleet, device and cohort ids: 1–64 characters, no `/`, `+`, `#` or spaces. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Transfer ids: 32 lower-case hex characters (128 random bits). */
export const TRANSFER_ID_PATTERN = /^[0-9a-f]{32}$/;

/** Third-level names that mean "the whole fleet", so no device may be called that. */
export const RESERVED_DEVICE_IDS: ReadonlySet<string> = new Set(['cmd', 'update']);

export function checkId(kind: 'fleet' | 'device' | 'cohort', id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new MqttError('BAD_TOPIC', `${kind} id ${JSON.stringify(id)} must match ${ID_PATTERN.source}`);
  }
  if (kind === 'device' && RESERVED_DEVICE_IDS.has(id)) {
    throw new MqttError('BAD_TOPIC', `device id ${JSON.stringify(id)} is reserved`);
  }
  return id;
}

export interface DeviceTopics {
  /** Retained birth/death state (Sparkplug-style). */
  readonly state: string;
  readonly report: string;
  readonly event: string;
  readonly audit: string;
  readonly updateStatus: string;
  /** Subscriptions: commands to this device and to its whole fleet. */
  readonly commandFilters: readonly [string, string];
  /** Subscriptions: update transfers to this device and to its whole fleet. */
  readonly updateFilters: readonly [string, string];
  /** `vigil/v1/{fleet}/{device}/{suffix}` for an outbox entry's suffix. */
  publish(suffix: string): string;
}

export function deviceTopics(fleet: string, device: string): DeviceTopics {
  const base = `${TOPIC_ROOT}/${checkId('fleet', fleet)}/${checkId('device', device)}`;
  const fleetBase = `${TOPIC_ROOT}/${fleet}`;
  return Object.freeze({
    state: `${base}/state`,
    report: `${base}/report`,
    event: `${base}/event`,
    audit: `${base}/audit`,
    updateStatus: `${base}/update/status`,
    commandFilters: [`${base}/cmd/#`, `${fleetBase}/cmd/#`] as const,
    updateFilters: [`${base}/update/transfer/#`, `${fleetBase}/update/transfer/#`] as const,
    publish: (suffix: string) => `${base}/${suffix}`,
  });
}

/** Subscriptions for a fleet-side consumer (collector, `vigil push`). */
export function fleetFilters(fleet: string) {
  const f = `${TOPIC_ROOT}/${checkId('fleet', fleet)}`;
  return Object.freeze({
    state: `${f}/+/state`,
    report: `${f}/+/report`,
    event: `${f}/+/event`,
    audit: `${f}/+/audit`,
    updateStatus: `${f}/+/update/status`,
  });
}

function checkCommandName(name: string): string {
  if (!ID_PATTERN.test(name)) throw new MqttError('BAD_TOPIC', `command name ${JSON.stringify(name)}`);
  return name;
}

export function deviceCommandTopic(fleet: string, device: string, name: string): string {
  return `${TOPIC_ROOT}/${checkId('fleet', fleet)}/${checkId('device', device)}/cmd/${checkCommandName(name)}`;
}

export function fleetCommandTopic(fleet: string, name: string): string {
  return `${TOPIC_ROOT}/${checkId('fleet', fleet)}/cmd/${checkCommandName(name)}`;
}

/** Where a transfer goes: one device, or a whole fleet (devices filter by cohort themselves). */
export type TransferScope =
  | { readonly kind: 'device'; readonly fleet: string; readonly device: string }
  | { readonly kind: 'fleet'; readonly fleet: string };

function scopeBase(scope: TransferScope): string {
  switch (scope.kind) {
    case 'device':
      return `${TOPIC_ROOT}/${checkId('fleet', scope.fleet)}/${checkId('device', scope.device)}`;
    case 'fleet':
      return `${TOPIC_ROOT}/${checkId('fleet', scope.fleet)}`;
  }
}

export function transferManifestTopic(scope: TransferScope, transferId: string): string {
  return `${scopeBase(scope)}/update/transfer/${checkTransferId(transferId)}/manifest`;
}

export function transferChunkTopic(scope: TransferScope, transferId: string, index: number): string {
  return `${scopeBase(scope)}/update/transfer/${checkTransferId(transferId)}/chunk/${index}`;
}

export function checkTransferId(id: string): string {
  if (!TRANSFER_ID_PATTERN.test(id)) {
    throw new MqttError('BAD_TOPIC', `transfer id ${JSON.stringify(id)} must be 32 lower-case hex digits`);
  }
  return id;
}

export type ParsedTopic =
  | { readonly kind: 'device'; readonly fleet: string; readonly device: string; readonly suffix: string }
  | { readonly kind: 'fleet'; readonly fleet: string; readonly suffix: string };

/**
 * Splits a topic under `vigil/v1/`. A fleet-wide topic's third level is one of the fleet
 * namespaces (`cmd`, `update`); anything else there is a device id.
 */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length < 4 || parts[0] !== 'vigil' || parts[1] !== 'v1') return null;
  const fleet = parts[2] as string;
  const third = parts[3] as string;
  if (!ID_PATTERN.test(fleet)) return null;
  if (third === 'cmd' || third === 'update') {
    return { kind: 'fleet', fleet, suffix: parts.slice(3).join('/') };
  }
  if (!ID_PATTERN.test(third) || parts.length < 5) return null;
  return { kind: 'device', fleet, device: third, suffix: parts.slice(4).join('/') };
}

export type TransferPart = { readonly kind: 'manifest' } | { readonly kind: 'chunk'; readonly index: number };

export interface ParsedTransferTopic {
  readonly scope: TransferScope;
  readonly transferId: string;
  readonly part: TransferPart;
}

/** Parses `…/update/transfer/{id}/manifest` and `…/update/transfer/{id}/chunk/{index}`. */
export function parseTransferTopic(topic: string): ParsedTransferTopic | null {
  const parsed = parseTopic(topic);
  if (!parsed) return null;
  const rest = parsed.suffix.split('/');
  if (rest[0] !== 'update' || rest[1] !== 'transfer') return null;
  const transferId = rest[2] ?? '';
  if (!TRANSFER_ID_PATTERN.test(transferId)) return null;
  const scope: TransferScope =
    parsed.kind === 'device'
      ? { kind: 'device', fleet: parsed.fleet, device: parsed.device }
      : { kind: 'fleet', fleet: parsed.fleet };
  if (rest.length === 4 && rest[3] === 'manifest') return { scope, transferId, part: { kind: 'manifest' } };
  if (rest.length === 5 && rest[3] === 'chunk' && /^(0|[1-9][0-9]{0,8})$/.test(rest[4] ?? '')) {
    return { scope, transferId, part: { kind: 'chunk', index: Number(rest[4]) } };
  }
  return null;
}

/** MQTT topic-filter matching (`+` one level, trailing `#` any number of levels including none). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i += 1) {
    const level = f[i];
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
