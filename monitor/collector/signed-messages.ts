// Payloads of the signed device messages other than reports and drift events, read field by field with
// models/format's strict CBOR. monitor/ may not import runtime/, so the audit checkpoint payload
// (runtime/state/checkpoint.ts, docs/audit.md) is re-read here: `{v: 1, device, count, head: bstr 32,
// at}`, plus an optional `seq` (the outbox sequence number, so checkpoints take part in gap accounting).
// The safety event is the collector's proposed format for rollbacks, freezes and revocations
// (docs/collector.md "Incidents"); it rides the `event` topic next to drift events.
import { bytesToHex, decodeCbor, fromCbor } from '../../models/format/index.ts';

export const CHECKPOINT_CONTENT_TYPE = 'application/vnd.vigil.audit-checkpoint+cbor';
export const SAFETY_EVENT_CONTENT_TYPE = 'application/vnd.vigil.safety-event+cbor';
export const SIGNED_MESSAGE_MAX_BYTES = 4096;

export class PayloadError extends Error {
  constructor(
    readonly code: 'MALFORMED_CBOR' | 'BAD_FIELD',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PayloadError';
  }
}

function decodeMap(payload: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = fromCbor(decodeCbor(payload, { maxBytes: SIGNED_MESSAGE_MAX_BYTES, maxDepth: 4 }));
  } catch (cause) {
    throw new PayloadError('MALFORMED_CBOR', `the ${what} payload is not strict deterministic CBOR`, {
      cause,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new PayloadError('BAD_FIELD', `the ${what} payload is not a map`);
  }
  return value as Record<string, unknown>;
}

function only(r: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of Object.keys(r)) {
    if (!keys.includes(k)) throw new PayloadError('BAD_FIELD', `${what}: unknown field ${k}`);
  }
}

function uint(r: Record<string, unknown>, key: string, what: string): number {
  const v = r[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new PayloadError('BAD_FIELD', `${what}.${key} must be an unsigned integer`);
  }
  return v;
}

function optUint(r: Record<string, unknown>, key: string, what: string): number | null {
  return r[key] === undefined ? null : uint(r, key, what);
}

function text(r: Record<string, unknown>, key: string, what: string, max: number, pattern?: RegExp): string {
  const v = r[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max || (pattern && !pattern.test(v))) {
    throw new PayloadError('BAD_FIELD', `${what}.${key} must be text of 1–${max} characters`);
  }
  return v;
}

function optText(r: Record<string, unknown>, key: string, what: string, max: number, pattern?: RegExp) {
  return r[key] === undefined ? null : text(r, key, what, max, pattern);
}

export interface CheckpointPayload {
  readonly device: string;
  readonly count: number;
  readonly headHash: string;
  readonly atMs: number;
  readonly seq: number | null;
}

export function parseCheckpointPayload(payload: Uint8Array): CheckpointPayload {
  const r = decodeMap(payload, 'checkpoint');
  only(r, ['v', 'device', 'count', 'head', 'at', 'seq'], 'checkpoint');
  if (r.v !== 1) throw new PayloadError('BAD_FIELD', 'checkpoint.v must be 1');
  const head = r.head;
  if (!(head instanceof Uint8Array) || head.length !== 32) {
    throw new PayloadError('BAD_FIELD', 'checkpoint.head must be 32 bytes');
  }
  return {
    device: text(r, 'device', 'checkpoint', 128),
    count: uint(r, 'count', 'checkpoint'),
    headHash: bytesToHex(head),
    atMs: uint(r, 'at', 'checkpoint'),
    seq: optUint(r, 'seq', 'checkpoint'),
  };
}

export const SAFETY_EVENT_TYPES = [
  'rollback',
  'freeze',
  'unfreeze',
  'revocation',
  'bundle-integrity',
  'other',
] as const;
export type SafetyEventType = (typeof SAFETY_EVENT_TYPES)[number];

export interface SafetyEventPayload {
  readonly fleet: string;
  readonly device: string;
  readonly seq: number;
  readonly atMs: number;
  readonly type: SafetyEventType;
  readonly family: string | null;
  readonly bundleId: string | null;
  readonly manifestSha256: string | null;
  readonly detail: string | null;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `{v: 1, fleet, device, seq, at, type, family?, bundleId?, manifestSha256?, detail?}`. */
export function parseSafetyEventPayload(payload: Uint8Array): SafetyEventPayload {
  const r = decodeMap(payload, 'safety event');
  const w = 'safety event';
  only(r, ['v', 'fleet', 'device', 'seq', 'at', 'type', 'family', 'bundleId', 'manifestSha256', 'detail'], w);
  if (r.v !== 1) throw new PayloadError('BAD_FIELD', 'safety event v must be 1');
  const type = text(r, 'type', w, 32);
  if (!(SAFETY_EVENT_TYPES as readonly string[]).includes(type)) {
    throw new PayloadError('BAD_FIELD', `safety event type ${JSON.stringify(type)} is not known`);
  }
  return {
    fleet: text(r, 'fleet', w, 64, ID),
    device: text(r, 'device', w, 64, ID),
    seq: uint(r, 'seq', w),
    atMs: uint(r, 'at', w),
    type: type as SafetyEventType,
    family: optText(r, 'family', w, 128),
    bundleId: optText(r, 'bundleId', w, 128),
    manifestSha256: optText(r, 'manifestSha256', w, 64, /^[0-9a-f]{64}$/),
    detail: optText(r, 'detail', w, 512),
  };
}
