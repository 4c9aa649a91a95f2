// First stage of ingest: one MQTT message → accepted (unsigned advisory state), rejected with a code,
// or "accepted if this signature verifies" (signatures.ts). Everything here is synchronous and runs on
// untrusted input: size cap before decoding, the topic's fleet and device must match the payload's,
// the signer's key comes from the enrolment table (never from the message), and every payload goes
// through its own field-by-field decoder (monitor/report for reports and drift events).
import { CoseError, decodeSign1, verifySign1 } from '../../models/format/index.ts';
import { parseState, parseTopic, type StatePayload } from '../mqtt/index.ts';
import {
  DRIFT_EVENT_CONTENT_TYPE,
  REPORT_CONTENT_TYPE,
  ReportError,
  verifyDriftEvent,
  verifyReport,
  type DriftEvent,
  type EnrolledDeviceKey,
  type StatusCounts,
  type TelemetryReport,
} from '../report/index.ts';
import {
  UPDATE_STATUS_CONTENT_TYPE,
  decodeStatusMessage,
  type UpdateStatusMessage,
} from '../updates/index.ts';
import {
  CHECKPOINT_CONTENT_TYPE,
  PayloadError,
  SAFETY_EVENT_CONTENT_TYPE,
  SIGNED_MESSAGE_MAX_BYTES,
  parseCheckpointPayload,
  parseSafetyEventPayload,
  type CheckpointPayload,
  type SafetyEventPayload,
} from './signed-messages.ts';
import { RecordingEd25519, type SignatureCheck } from './signatures.ts';

/** Why a message was rejected: the ingest counters and the dashboard use these codes. */
export const REJECT_CODES = [
  'TOO_LARGE',
  'BAD_TOPIC',
  'UNSIGNED',
  'MALFORMED',
  'WRONG_CONTENT_TYPE',
  'DISALLOWED_ALG',
  'UNKNOWN_DEVICE',
  'RETIRED_DEVICE',
  'BAD_SIGNATURE',
  'KEY_MISMATCH',
  'TOPIC_MISMATCH',
  'UNSUPPORTED_VERSION',
  'BAD_FIELD',
  'INCONSISTENT',
  'PROFILE_MISMATCH',
  'CLOCK_SKEW', // dated further ahead of the collector's clock than maxClockSkewMs
  'IMPLAUSIBLE', // more windows than its interval can hold (maxWindowsPerSecond)
] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

/** What the enrolment table says about a key id. */
export type KeyLookup =
  | { readonly kind: 'active'; readonly key: EnrolledDeviceKey }
  | { readonly kind: 'retired' }
  | { readonly kind: 'unknown' };

export type AcceptedMessage =
  | { readonly kind: 'state'; readonly fleet: string; readonly device: string; readonly state: StatePayload }
  | {
      readonly kind: 'report';
      readonly fleet: string;
      readonly device: string;
      readonly seq: number;
      readonly kid: string;
      readonly report: TelemetryReport;
    }
  | {
      readonly kind: 'drift-event';
      readonly fleet: string;
      readonly device: string;
      readonly seq: number;
      readonly kid: string;
      readonly event: DriftEvent;
    }
  | {
      readonly kind: 'safety-event';
      readonly fleet: string;
      readonly device: string;
      readonly seq: number;
      readonly kid: string;
      readonly event: SafetyEventPayload;
    }
  | {
      readonly kind: 'checkpoint';
      readonly fleet: string;
      readonly device: string;
      readonly seq: number | null;
      readonly kid: string;
      readonly checkpoint: CheckpointPayload;
    }
  | {
      readonly kind: 'update-status';
      readonly fleet: string;
      readonly device: string;
      readonly seq: number;
      readonly kid: string;
      readonly status: UpdateStatusMessage;
    };

export interface Rejection {
  readonly code: RejectCode;
  readonly detail: string;
}

export type Classified =
  | { readonly kind: 'accepted'; readonly message: AcceptedMessage }
  | { readonly kind: 'rejected'; readonly device: string | null; readonly rejection: Rejection }
  | {
      readonly kind: 'signature';
      readonly check: SignatureCheck;
      readonly device: string;
      /** The outcome if the signature verifies (a payload error found after the signature check). */
      readonly ifValid:
        | { readonly kind: 'accepted'; readonly message: AcceptedMessage }
        | { readonly kind: 'rejected'; readonly rejection: Rejection };
    };

export interface ClassifyContext {
  /** Only this fleet's topics are taken (null: any fleet). */
  readonly fleet: string | null;
  readonly lookupKey: (kid: string) => KeyLookup;
  readonly maxBytes: number;
  /** The collector's clock now (ms). */
  readonly nowMs: number;
  /**
   * A report ending later than now + this is refused: one device with a clock far ahead would
   * otherwise move the evaluator's event-time watermark and close windows before their data arrive.
   */
  readonly maxClockSkewMs: number | null;
  /** A report holding more windows than its interval × this is refused (one device must not outweigh a cohort). */
  readonly maxWindowsPerSecond: number;
}

function reportCode(code: ReportError['code'], retired: boolean): RejectCode {
  switch (code) {
    case 'TOO_LARGE':
    case 'WRONG_CONTENT_TYPE':
    case 'DISALLOWED_ALG':
    case 'BAD_SIGNATURE':
    case 'KEY_MISMATCH':
    case 'UNSUPPORTED_VERSION':
    case 'BAD_FIELD':
    case 'INCONSISTENT':
      return code;
    case 'UNKNOWN_KEY':
      return retired ? 'RETIRED_DEVICE' : 'UNKNOWN_DEVICE';
    case 'NOT_COSE_SIGN1':
      return 'UNSIGNED';
    case 'MALFORMED_CBOR':
    case 'BAD_INPUT':
      return 'MALFORMED';
  }
}

function coseCode(code: string, retired: boolean): RejectCode {
  switch (code) {
    case 'TOO_LARGE':
    case 'WRONG_CONTENT_TYPE':
    case 'DISALLOWED_ALG':
    case 'BAD_SIGNATURE':
      return code;
    case 'UNKNOWN_KEY':
      return retired ? 'RETIRED_DEVICE' : 'UNKNOWN_DEVICE';
    case 'NOT_COSE_SIGN1':
      return 'UNSIGNED';
    default:
      return 'MALFORMED';
  }
}

function reject(device: string | null, code: RejectCode, detail: string): Classified {
  return { kind: 'rejected', device, rejection: { code, detail } };
}

/** Runs a verifier with a recording Ed25519 and turns its outcome into a Classified. */
function withDeferredSignature(
  device: string,
  run: (
    ed25519: RecordingEd25519,
    resolve: (kid: string) => EnrolledDeviceKey | undefined,
  ) => AcceptedMessage,
  ctx: ClassifyContext,
): Classified {
  const recorder = new RecordingEd25519();
  let retired = false;
  const resolve = (kid: string): EnrolledDeviceKey | undefined => {
    const found = ctx.lookupKey(kid);
    if (found.kind === 'retired') retired = true;
    return found.kind === 'active' ? found.key : undefined;
  };
  let outcome: { kind: 'accepted'; message: AcceptedMessage } | { kind: 'rejected'; rejection: Rejection };
  try {
    outcome = { kind: 'accepted', message: run(recorder, resolve) };
  } catch (error) {
    let rejection: Rejection;
    if (error instanceof ReportError)
      rejection = { code: reportCode(error.code, retired), detail: error.message };
    else if (error instanceof CoseError)
      rejection = { code: coseCode(error.code, retired), detail: error.message };
    else if (error instanceof PayloadError) {
      rejection = { code: error.code === 'BAD_FIELD' ? 'BAD_FIELD' : 'MALFORMED', detail: error.message };
    } else if (error instanceof Mismatch) rejection = { code: error.code, detail: error.message };
    else if ((error as { code?: unknown }).code === 'STATUS_MALFORMED') {
      rejection = { code: 'MALFORMED', detail: (error as Error).message };
    } else throw error;
    // A failure found after the signature was recorded is only reported if the signature is good:
    // a message that is both forged and malformed counts as forged, as verifyReport would say.
    if (recorder.recorded === null || rejection.code === 'BAD_SIGNATURE') {
      return { kind: 'rejected', device, rejection };
    }
    outcome = { kind: 'rejected', rejection };
  }
  if (recorder.recorded === null) {
    return reject(device, 'BAD_SIGNATURE', 'no signature was checked');
  }
  return { kind: 'signature', check: recorder.recorded, device, ifValid: outcome };
}

class Mismatch extends Error {
  constructor(
    readonly code: 'TOPIC_MISMATCH' | 'KEY_MISMATCH' | 'CLOCK_SKEW' | 'IMPLAUSIBLE',
    message: string,
  ) {
    super(message);
  }
}

function sameDevice(
  topic: { fleet: string; device: string },
  payload: { fleet: string; device: string },
  what: string,
): void {
  if (topic.fleet !== payload.fleet || topic.device !== payload.device) {
    throw new Mismatch(
      'TOPIC_MISMATCH',
      `${what} for ${payload.fleet}/${payload.device} arrived on the topic of ${topic.fleet}/${topic.device}`,
    );
  }
}

function enrolledFor(key: EnrolledDeviceKey | undefined, fleet: string, device: string, kid: string): void {
  if (key === undefined || key.fleet !== fleet || key.device !== device) {
    throw new Mismatch('KEY_MISMATCH', `key ${JSON.stringify(kid)} is not enrolled for ${fleet}/${device}`);
  }
}

/**
 * A COSE_Sign1 of `contentType` by an enrolled device key: verified, its payload parsed, the key
 * enrolled for the device the payload names (KEY_MISMATCH) and that device the topic's (TOPIC_MISMATCH).
 */
function signedByDevice<T>(
  payload: Uint8Array,
  here: { fleet: string; device: string },
  o: {
    readonly contentType: string;
    readonly maxBytes: number;
    readonly ed25519: RecordingEd25519;
    readonly resolveKey: (kid: string) => EnrolledDeviceKey | undefined;
    readonly what: string;
    readonly parse: (bytes: Uint8Array) => T;
    readonly owner: (value: T) => { readonly fleet: string; readonly device: string };
  },
): { value: T; kid: string } {
  let key: EnrolledDeviceKey | undefined;
  const v = verifySign1(payload, {
    resolveKey: (kid) => (key = o.resolveKey(kid)),
    contentType: o.contentType,
    maxBytes: o.maxBytes,
    ed25519: o.ed25519,
  });
  const value = o.parse(v.payload);
  const owner = o.owner(value);
  enrolledFor(key, owner.fleet, owner.device, v.kid);
  sameDevice(here, owner, o.what);
  return { value, kid: v.kid };
}

/** Time and volume a signed report can honestly claim (checked once its signature is recorded). */
function plausibleReport(
  r: { readonly startMs: number; readonly endMs: number; readonly windows: StatusCounts },
  ctx: ClassifyContext,
): void {
  if (ctx.maxClockSkewMs !== null && r.endMs > ctx.nowMs + ctx.maxClockSkewMs) {
    throw new Mismatch(
      'CLOCK_SKEW',
      `the report ends ${new Date(r.endMs).toISOString()}, more than ${String(ctx.maxClockSkewMs)} ms ahead of the collector's clock`,
    );
  }
  const windows = r.windows.ok + r.windows.indeterminate + r.windows.fallback;
  const most = Math.ceil(((r.endMs - r.startMs) / 1000) * ctx.maxWindowsPerSecond) + 1;
  if (windows > most) {
    throw new Mismatch(
      'IMPLAUSIBLE',
      `${String(windows)} windows in ${String(r.endMs - r.startMs)} ms (at most ${String(most)} at ${String(ctx.maxWindowsPerSecond)} per second)`,
    );
  }
}

/** Classifies one MQTT message. Never throws on bad input. */
export function classifyMessage(topic: string, payload: Uint8Array, ctx: ClassifyContext): Classified {
  const parsed = parseTopic(topic);
  if (parsed === null || parsed.kind !== 'device')
    return reject(null, 'BAD_TOPIC', `not a device topic: ${topic}`);
  const { fleet, device, suffix } = parsed;
  if (ctx.fleet !== null && fleet !== ctx.fleet)
    return reject(device, 'BAD_TOPIC', `fleet ${fleet} is not ours`);
  if (payload.length > ctx.maxBytes) {
    return reject(device, 'TOO_LARGE', `${payload.length} bytes exceed the ${ctx.maxBytes}-byte cap`);
  }
  const here = { fleet, device };
  switch (suffix) {
    case 'state': {
      const state = parseState(payload);
      if (state === null) return reject(device, 'MALFORMED', 'not a birth/death state message');
      if (state.fleet !== fleet || state.device !== device) {
        return reject(device, 'TOPIC_MISMATCH', 'the state names another device');
      }
      return { kind: 'accepted', message: { kind: 'state', fleet, device, state } };
    }
    case 'report':
      return withDeferredSignature(
        device,
        (ed25519, resolveKey) => {
          const v = verifyReport(payload, { resolveKey, ed25519, maxBytes: ctx.maxBytes });
          sameDevice(here, v.value, 'a report');
          plausibleReport(v.value, ctx);
          return { kind: 'report', fleet, device, seq: v.value.seq, kid: v.kid, report: v.value };
        },
        ctx,
      );
    case 'event':
      return classifyEvent(payload, here, ctx);
    case 'audit':
      return withDeferredSignature(
        device,
        (ed25519, resolveKey) => {
          const { value: checkpoint, kid } = signedByDevice(payload, here, {
            contentType: CHECKPOINT_CONTENT_TYPE,
            maxBytes: Math.min(ctx.maxBytes, SIGNED_MESSAGE_MAX_BYTES),
            ed25519,
            resolveKey,
            what: 'a checkpoint',
            parse: parseCheckpointPayload,
            owner: (c) => ({ fleet, device: c.device }),
          });
          return { kind: 'checkpoint', fleet, device, seq: checkpoint.seq, kid, checkpoint };
        },
        ctx,
      );
    case 'update/status':
      return withDeferredSignature(
        device,
        (ed25519, resolveKey) => {
          // Only sealed statuses are taken: an unsigned sequence number could fake or hide gaps.
          const { value: status, kid } = signedByDevice(payload, here, {
            contentType: UPDATE_STATUS_CONTENT_TYPE,
            maxBytes: ctx.maxBytes,
            ed25519,
            resolveKey,
            what: 'an update status',
            parse: decodeStatusMessage,
            owner: (st) => st,
          });
          return { kind: 'update-status', fleet, device, seq: status.seq, kid, status };
        },
        ctx,
      );
    default:
      return reject(device, 'BAD_TOPIC', `unknown topic suffix ${suffix}`);
  }
}

function classifyEvent(
  payload: Uint8Array,
  here: { fleet: string; device: string },
  ctx: ClassifyContext,
): Classified {
  let contentType: string | number | null;
  try {
    contentType = decodeSign1(payload, { maxBytes: ctx.maxBytes }).contentType;
  } catch (error) {
    if (error instanceof CoseError) {
      return reject(here.device, coseCode(error.code, false), error.message);
    }
    throw error;
  }
  if (contentType === DRIFT_EVENT_CONTENT_TYPE) {
    return withDeferredSignature(
      here.device,
      (ed25519, resolveKey) => {
        const v = verifyDriftEvent(payload, { resolveKey, ed25519, maxBytes: ctx.maxBytes });
        sameDevice(here, v.value, 'a drift event');
        return { kind: 'drift-event', ...here, seq: v.value.seq, kid: v.kid, event: v.value };
      },
      ctx,
    );
  }
  if (contentType === SAFETY_EVENT_CONTENT_TYPE) {
    return withDeferredSignature(
      here.device,
      (ed25519, resolveKey) => {
        const { value: event, kid } = signedByDevice(payload, here, {
          contentType: SAFETY_EVENT_CONTENT_TYPE,
          maxBytes: Math.min(ctx.maxBytes, SIGNED_MESSAGE_MAX_BYTES),
          ed25519,
          resolveKey,
          what: 'a safety event',
          parse: parseSafetyEventPayload,
          owner: (e) => e,
        });
        return { kind: 'safety-event', ...here, seq: event.seq, kid, event };
      },
      ctx,
    );
  }
  if (contentType === REPORT_CONTENT_TYPE) {
    return reject(here.device, 'WRONG_CONTENT_TYPE', 'a report on the event topic');
  }
  return reject(here.device, 'WRONG_CONTENT_TYPE', `unknown event content type ${String(contentType)}`);
}
