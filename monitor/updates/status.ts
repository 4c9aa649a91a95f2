// Update status messages, device → fleet, on `vigil/v1/{fleet}/{device}/update/status`. Deterministic
// CBOR (models/format), carrying the outbox sequence number so receivers dedupe by (device, sequence)
// like every other telemetry message; optionally sealed (COSE_Sign1 with the device key) by the
// caller's `seal` function. `vigil push` reads the payload of a sealed message without verifying it
// (progress display only); the collector verifies like any report.
import {
  TAG_COSE_SIGN1,
  decodeCbor,
  decodeSign1,
  encodeCbor,
  fromCbor,
  toCbor,
} from '../../models/format/index.ts';
import { UpdateError } from './errors.ts';
import type { ChunkRange } from './ranges.ts';

export const UPDATE_STATUS_CONTENT_TYPE = 'application/vnd.vigil.update-status+cbor';
export const MAX_STATUS_BYTES = 16 * 1024;
export const MAX_NEED_RANGES = 64;

/**
 * accepted: manifest taken, staging open · progress: chunks so far · need: missing ranges (asks the
 * sender to re-send) · received: every chunk and the whole-file digest verified, handed to the
 * lifecycle · verified / installed / shadow / promoted: reported by the lifecycle ·
 * rejected: terminal failure with a code.
 */
export const UPDATE_STATUS_KINDS = [
  'accepted',
  'progress',
  'need',
  'received',
  'verified',
  'installed',
  'shadow',
  'promoted',
  'rejected',
] as const;

export type UpdateStatusKind = (typeof UPDATE_STATUS_KINDS)[number];

/** How far along a status is (rejected is terminal and ranked apart). */
export function statusRank(kind: Exclude<UpdateStatusKind, 'rejected'>): number {
  switch (kind) {
    case 'accepted':
      return 1;
    case 'progress':
    case 'need':
      return 2;
    case 'received':
      return 3;
    case 'verified':
      return 4;
    case 'installed':
      return 5;
    case 'shadow':
      return 6;
    case 'promoted':
      return 7;
  }
}

export interface UpdateStatus {
  readonly transferId: string;
  readonly status: UpdateStatusKind;
  /** Set for `rejected`: an UpdateErrorCode or the lifecycle's own code (e.g. SIGNATURE_INVALID). */
  readonly code?: string;
  readonly receivedChunks?: number;
  readonly totalChunks?: number;
  readonly need?: readonly ChunkRange[];
  readonly detail?: string;
}

export interface UpdateStatusMessage extends UpdateStatus {
  readonly v: 1;
  readonly type: 'update-status';
  readonly fleet: string;
  readonly device: string;
  /** The device's telemetry sequence number (from the outbox). */
  readonly seq: number;
  /** ms since the epoch. */
  readonly at: number;
}

export function encodeStatusMessage(message: UpdateStatusMessage): Uint8Array {
  return encodeCbor(
    toCbor({
      ...message,
      need: message.need?.map(([a, b]) => [a, b]),
    }),
  );
}

function bad(message: string): never {
  throw new UpdateError('STATUS_MALFORMED', message);
}

function nat(r: Record<string, unknown>, key: string, optional: boolean): number | undefined {
  const v = r[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    return bad(`${key} must be a natural number`);
  return v;
}

/** Parses a status message (plain CBOR map, or a COSE_Sign1 whose payload is one) field by field. */
export function decodeStatusMessage(bytes: Uint8Array): UpdateStatusMessage {
  if (bytes.length > MAX_STATUS_BYTES) bad(`status of ${bytes.length} bytes exceeds ${MAX_STATUS_BYTES}`);
  let body = bytes;
  let value: unknown;
  try {
    // A sealed status is a COSE_Sign1_Tagged (tag 18): its first byte is 0xd2.
    if (bytes[0] === 0xc0 + TAG_COSE_SIGN1) body = decodeSign1(bytes, { maxBytes: MAX_STATUS_BYTES }).payload;
    value = fromCbor(decodeCbor(body, { maxBytes: MAX_STATUS_BYTES, maxDepth: 4 }));
  } catch (error) {
    throw new UpdateError('STATUS_MALFORMED', 'not a CBOR status message', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('status is not a map');
  const r = value as Record<string, unknown>;
  const known = new Set([
    'v',
    'type',
    'fleet',
    'device',
    'seq',
    'at',
    'transferId',
    'status',
    'code',
    'receivedChunks',
    'totalChunks',
    'need',
    'detail',
  ]);
  for (const key of Object.keys(r)) if (!known.has(key)) bad(`unknown field ${key}`);
  if (r.v !== 1 || r.type !== 'update-status') bad('not an update-status v1');
  if (typeof r.fleet !== 'string' || typeof r.device !== 'string') bad('fleet and device must be text');
  if (typeof r.transferId !== 'string' || !/^[0-9a-f]{32}$/.test(r.transferId)) bad('bad transferId');
  const status = r.status;
  if (typeof status !== 'string' || !(UPDATE_STATUS_KINDS as readonly string[]).includes(status)) {
    bad('unknown status');
  }
  const out: { -readonly [K in keyof UpdateStatusMessage]: UpdateStatusMessage[K] } = {
    v: 1,
    type: 'update-status',
    fleet: r.fleet,
    device: r.device,
    seq: nat(r, 'seq', false) as number,
    at: nat(r, 'at', false) as number,
    transferId: r.transferId,
    status: status as UpdateStatusKind,
  };
  if (r.code !== undefined) {
    if (typeof r.code !== 'string' || !/^[A-Z0-9_]{1,64}$/.test(r.code)) bad('bad code');
    out.code = r.code;
  }
  if (r.detail !== undefined) {
    if (typeof r.detail !== 'string' || r.detail.length > 512) bad('bad detail');
    out.detail = r.detail;
  }
  const receivedChunks = nat(r, 'receivedChunks', true);
  if (receivedChunks !== undefined) out.receivedChunks = receivedChunks;
  const totalChunks = nat(r, 'totalChunks', true);
  if (totalChunks !== undefined) out.totalChunks = totalChunks;
  if (r.need !== undefined) {
    if (!Array.isArray(r.need) || r.need.length > MAX_NEED_RANGES) bad('bad need ranges');
    out.need = (r.need as unknown[]).map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) return bad('a need range is a pair');
      const [a, b] = pair as unknown[];
      if (
        typeof a !== 'number' ||
        typeof b !== 'number' ||
        !Number.isSafeInteger(a) ||
        !Number.isSafeInteger(b)
      ) {
        return bad('need range bounds must be integers');
      }
      if (a < 0 || b <= a) bad('need range must be non-empty');
      return [a, b] as const;
    });
  }
  if (out.status === 'rejected' && out.code === undefined) bad('a rejection carries a code');
  return out;
}

/** What statusSink needs from the outbox (monitor/outbox's Outbox satisfies it). */
export interface StatusOutbox {
  enqueue(input: {
    readonly class: 'update-status';
    readonly topicSuffix: string;
    readonly payload: (seq: number, createdMs: number) => Uint8Array;
  }): unknown;
}

/**
 * An `emitStatus` for the receiver that enqueues each status durably (class update-status, topic
 * suffix `update/status`), numbered by the outbox; `seal` may wrap it (e.g. COSE_Sign1 with the
 * device key, content type UPDATE_STATUS_CONTENT_TYPE).
 */
export function outboxStatusSink(
  outbox: StatusOutbox,
  identity: { readonly fleet: string; readonly device: string },
  seal?: (payload: Uint8Array) => Uint8Array,
): (status: UpdateStatus) => void {
  return (status) => {
    outbox.enqueue({
      class: 'update-status',
      topicSuffix: 'update/status',
      payload: (seq, createdMs) => {
        const bytes = encodeStatusMessage({
          v: 1,
          type: 'update-status',
          fleet: identity.fleet,
          device: identity.device,
          seq,
          at: createdMs,
          ...status,
        });
        return seal ? seal(bytes) : bytes;
      },
    });
  };
}
