// Server → client messages, parsed by the TypeScript client. Structure and types are checked field by
// field; unknown keys are ignored so that a newer server can add fields within a protocol version.
import type { ModelStatus, RuntimeStatus } from '../../runtime/api.ts';
import type {
  FallbackOutput,
  FallbackReason,
  ResultProvenance,
  ResultStatus,
} from '../../runtime/pipeline/index.ts';
import type { CborValue } from './cbor-decode.ts';
import { BridgeError, isWireErrorCode } from './errors.ts';
import { Fields, isCborMap } from './fields.ts';
import {
  SENSOR_KINDS,
  type ServerMessage,
  type ServerMessageType,
  type SessionCounters,
  type StreamCounters,
  type StreamLoss,
  type StreamState,
  type WireLimits,
} from './messages.ts';

const ANY_TEXT = /^[\s\S]*$/;
const MAX_TEXT = 1024;
const BIG = Number.MAX_VALUE;

const SERVER_TYPES: readonly ServerMessageType[] = [
  'hello-ack',
  'open-ack',
  'close-ack',
  'credit',
  'label-ack',
  'status-ack',
  'pong',
  'result',
  'alert',
  'missed',
  'overload',
  'error',
];

function text(f: Fields, key: string): string {
  return f.text(key, MAX_TEXT, ANY_TEXT);
}

function num(f: Fields, key: string): number {
  const value = f.raw(key);
  if (typeof value !== 'number') throw new BridgeError('BAD_FIELD', `${f.where}.${key} must be a number`);
  return value;
}

function nullableUint(f: Fields, key: string): number | null {
  const value = f.raw(key);
  return value === null ? null : f.checkUint(key, value);
}

function list<T>(f: Fields, key: string, each: (item: Fields) => T): T[] {
  return f.array(key, 0, 4096).map((item, i) => each(Fields.of(item, `${f.where}.${key}[${i}]`)));
}

function streamState(f: Fields): StreamState {
  const cohort = f.optionalText('cohort', MAX_TEXT, ANY_TEXT);
  return {
    stream: text(f, 'stream'),
    sensor: f.oneOf('sensor', SENSOR_KINDS),
    rateHz: f.finite('rateHz', 0, BIG),
    channels: f.uint('channels'),
    ...(cohort !== undefined ? { cohort } : {}),
    next: nullableUint(f, 'next'),
  };
}

function limits(f: Fields): WireLimits {
  return {
    maxFrameBytes: f.uint('maxFrameBytes'),
    credits: f.uint('credits'),
    maxStreams: f.uint('maxStreams'),
    maxChannels: f.uint('maxChannels'),
    maxSamplesPerFrame: f.uint('maxSamplesPerFrame'),
    resumeBuffer: f.uint('resumeBuffer'),
    resumeWindowMs: f.uint('resumeWindowMs'),
  };
}

function loss(f: Fields): StreamLoss {
  return {
    stream: text(f, 'stream'),
    results: f.uint('results'),
    alerts: f.uint('alerts'),
    firstWindow: nullableUint(f, 'firstWindow'),
    lastWindow: nullableUint(f, 'lastWindow'),
  };
}

function fallbackOutput(f: Fields): FallbackOutput {
  const kind = f.oneOf('kind', ['suppressed', 'quality-alert', 'rule'] as const);
  switch (kind) {
    case 'suppressed':
      return { kind };
    case 'quality-alert':
      return { kind, message: text(f, 'message') };
    case 'rule':
      return {
        kind,
        ruleVersion: text(f, 'ruleVersion'),
        positive: f.bool('positive'),
        label: text(f, 'label'),
      };
  }
}

function status(f: Fields): ResultStatus {
  const kind = f.oneOf('kind', ['ok', 'indeterminate', 'fallback'] as const);
  switch (kind) {
    case 'ok':
      return {
        kind,
        score: num(f, 'score'),
        label: text(f, 'label'),
        positive: f.bool('positive'),
        alert: f.bool('alert'),
      };
    case 'indeterminate':
      return { kind, score: num(f, 'score'), reason: f.oneOf('reason', ['SCORE_BAND'] as const) };
    case 'fallback':
      return {
        kind,
        // The reason list belongs to the runtime; a newer runtime may add reasons.
        reason: f.text('reason', 64, /^[A-Z_]+$/) as FallbackReason,
        detail: text(f, 'detail'),
        output: fallbackOutput(f.sub('output')),
      };
  }
}

function provenance(f: Fields): ResultProvenance {
  return {
    bundleId: text(f, 'bundleId'),
    modelFamily: text(f, 'modelFamily'),
    modelVersion: text(f, 'modelVersion'),
    sequence: f.uint('sequence'),
    manifestSha256: text(f, 'manifestSha256'),
    thresholdsVersion: text(f, 'thresholdsVersion'),
    postprocessingVersion: text(f, 'postprocessingVersion'),
    qualityPolicyVersion: text(f, 'qualityPolicyVersion'),
    fallbackPolicyVersion: text(f, 'fallbackPolicyVersion'),
    runtimeVersion: text(f, 'runtimeVersion'),
    backend: f.oneOf('backend', ['node', 'wasm'] as const),
  };
}

function model(f: Fields): ModelStatus {
  const candidate = f.raw('candidateBundleId');
  return {
    modelFamily: text(f, 'modelFamily'),
    bundleId: text(f, 'bundleId'),
    version: text(f, 'version'),
    sequence: f.uint('sequence'),
    sensor: text(f, 'sensor'),
    backend: text(f, 'backend'),
    candidateBundleId:
      candidate === null ? null : f.checkText('candidateBundleId', candidate, MAX_TEXT, ANY_TEXT),
  };
}

function runtimeStatus(f: Fields): RuntimeStatus {
  return {
    deviceId: text(f, 'deviceId'),
    runtimeVersion: text(f, 'runtimeVersion'),
    models: list(f, 'models', model),
    openStreams: f.uint('openStreams'),
    frozen: f.bool('frozen'),
  };
}

function streamCounters(f: Fields): StreamCounters {
  return {
    stream: text(f, 'stream'),
    sensor: f.oneOf('sensor', SENSOR_KINDS),
    rateHz: f.finite('rateHz', 0, BIG),
    channels: f.uint('channels'),
    next: nullableUint(f, 'next'),
    frames: f.uint('frames'),
    samples: f.uint('samples'),
    rejected: f.uint('rejected'),
    results: f.uint('results'),
  };
}

function sessionCounters(f: Fields): SessionCounters {
  return {
    framesIn: f.uint('framesIn'),
    samplesIn: f.uint('samplesIn'),
    framesRejected: f.uint('framesRejected'),
    creditExceeded: f.uint('creditExceeded'),
    resultsDelivered: f.uint('resultsDelivered'),
    resultsDropped: f.uint('resultsDropped'),
    alertsDelivered: f.uint('alertsDelivered'),
    alertsDropped: f.uint('alertsDropped'),
    resumes: f.uint('resumes'),
  };
}

function parse(value: CborValue): ServerMessage {
  if (!isCborMap(value)) throw new BridgeError('BAD_MESSAGE', 'a frame must hold one CBOR map');
  const type = value.get('type');
  if (typeof type !== 'string' || !(SERVER_TYPES as readonly string[]).includes(type)) {
    throw new BridgeError('BAD_MESSAGE', `unknown message type ${JSON.stringify(type)}`);
  }
  const t = type as ServerMessageType;
  const f = new Fields(value, t);
  switch (t) {
    case 'hello-ack': {
      const server = f.sub('server');
      return {
        type: t,
        re: f.uint('re'),
        version: f.uint('version'),
        resumed: f.bool('resumed'),
        streams: list(f, 'streams', streamState),
        limits: limits(f.sub('limits')),
        server: {
          name: text(server, 'name'),
          version: text(server, 'version'),
          device: text(server, 'device'),
        },
        caps: f.array('caps', 0, 64).map((c, i) => f.checkText(`caps[${i}]`, c, MAX_TEXT, ANY_TEXT)),
      };
    }
    case 'open-ack':
      return {
        type: t,
        re: f.uint('re'),
        stream: text(f, 'stream'),
        resumed: f.bool('resumed'),
        next: nullableUint(f, 'next'),
      };
    case 'close-ack':
      return { type: t, re: f.uint('re'), stream: text(f, 'stream') };
    case 'credit':
      return { type: t, grant: f.uint('grant') };
    case 'label-ack':
      return {
        type: t,
        re: f.uint('re'),
        result: text(f, 'result'),
        outcome: f.oneOf('outcome', ['accepted', 'unknown-result', 'duplicate'] as const),
      };
    case 'status-ack': {
      const session = f.sub('session');
      return {
        type: t,
        re: f.uint('re'),
        runtime: runtimeStatus(f.sub('runtime')),
        session: {
          device: text(session, 'device'),
          firmware: text(session, 'firmware'),
          streams: list(session, 'streams', streamCounters),
          queued: session.uint('queued'),
          counters: sessionCounters(session.sub('counters')),
        },
      };
    }
    case 'pong':
      return { type: t, re: f.uint('re') };
    case 'result':
      return {
        type: t,
        seq: f.uint('seq'),
        result: text(f, 'result'),
        stream: text(f, 'stream'),
        window: f.uint('window'),
        first: f.uint('first'),
        last: f.uint('last'),
        startMs: num(f, 'startMs'),
        endMs: num(f, 'endMs'),
        cohort: text(f, 'cohort'),
        status: status(f.sub('status')),
        provenance: provenance(f.sub('provenance')),
        latencyMs: num(f, 'latencyMs'),
      };
    case 'alert':
      return {
        type: t,
        seq: f.uint('seq'),
        result: text(f, 'result'),
        stream: text(f, 'stream'),
        modelFamily: text(f, 'modelFamily'),
        bundleId: text(f, 'bundleId'),
        label: text(f, 'label'),
        atMs: num(f, 'atMs'),
        source: f.oneOf('source', ['model', 'fallback-rule', 'quality'] as const),
      };
    case 'missed':
      return { type: t, reason: f.oneOf('reason', ['detached'] as const), streams: list(f, 'streams', loss) };
    case 'overload': {
      const totals = f.sub('totals');
      const re = f.optionalUint('re');
      const streams = f.has('streams') ? list(f, 'streams', loss) : undefined;
      return {
        type: t,
        reason: f.oneOf('reason', ['no-credit', 'results-dropped'] as const),
        count: f.uint('count'),
        ...(re !== undefined ? { re } : {}),
        ...(streams !== undefined ? { streams } : {}),
        totals: {
          framesRejected: totals.uint('framesRejected'),
          resultsDropped: totals.uint('resultsDropped'),
          alertsDropped: totals.uint('alertsDropped'),
        },
      };
    }
    case 'error': {
      const re = f.optionalUint('re');
      const stream = f.optionalText('stream', MAX_TEXT, ANY_TEXT);
      const code = text(f, 'code');
      return {
        type: t,
        ...(re !== undefined ? { re } : {}),
        code: isWireErrorCode(code) ? code : 'INTERNAL',
        message: isWireErrorCode(code) ? text(f, 'message') : `${code}: ${text(f, 'message')}`,
        ...(stream !== undefined ? { stream } : {}),
        fatal: f.bool('fatal'),
      };
    }
  }
}

/** Parses one decoded server frame. Throws BridgeError('PROTOCOL') when it does not follow the protocol. */
export function parseServerMessage(value: CborValue): ServerMessage {
  try {
    return parse(value);
  } catch (cause) {
    if (cause instanceof BridgeError) throw new BridgeError('PROTOCOL', cause.message, { cause });
    throw cause;
  }
}
