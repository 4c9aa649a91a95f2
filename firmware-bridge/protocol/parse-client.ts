// Client → server messages, parsed field by field from a decoded frame. Strict: unknown keys, wrong
// types, NaN/Infinity and out-of-range values are refused with BAD_MESSAGE / BAD_FIELD.
import type { CborValue } from './cbor-decode.ts';
import { BridgeError } from './errors.ts';
import { Fields, isCborMap } from './fields.ts';
import {
  ID_PATTERN,
  SENSOR_KINDS,
  type ClientMessage,
  type ClientMessageType,
  type SamplesMessage,
  type SensorDecl,
} from './messages.ts';

export interface ClientParseLimits {
  readonly maxChannels: number;
  readonly maxSamplesPerFrame: number;
}

export const MAX_RATE_HZ = 100_000;
const MIN_RATE_HZ = 0.001;
const MAX_TIMESTAMP_MS = Number.MAX_SAFE_INTEGER;
const VERSION_TEXT = /^[\x21-\x7e]{1,64}$/;
const CAP_TEXT = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** Cohort keys are short printable ASCII (e.g. `age=65+;placement=wrist`). */
const COHORT_TEXT = /^[\x20-\x7e]{0,128}$/;
const RESULT_ID_TEXT = /^[\x21-\x7e]{1,256}$/;

const CLIENT_TYPES: readonly ClientMessageType[] = [
  'hello',
  'open',
  'close',
  'samples',
  'label',
  'status',
  'ping',
];

/** The request id of a frame, if it has a readable one (so that an error can refer to it). */
export function readRequestId(value: CborValue): number | undefined {
  if (!isCborMap(value)) return undefined;
  const id = value.get('id');
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

function rate(fields: Fields, key: string): number {
  return fields.finite(key, MIN_RATE_HZ, MAX_RATE_HZ);
}

function sensorDecl(value: CborValue, where: string, limits: ClientParseLimits): SensorDecl {
  const f = Fields.of(value, where);
  const decl: SensorDecl = {
    sensor: f.oneOf('sensor', SENSOR_KINDS),
    rateHz: rate(f, 'rateHz'),
    channels: f.uint('channels', limits.maxChannels),
  };
  if (decl.channels < 1) throw new BridgeError('BAD_FIELD', `${where}.channels must be at least 1`);
  f.finish();
  return decl;
}

function samples(f: Fields, id: number, limits: ClientParseLimits): SamplesMessage {
  const stream = f.text('stream', 64, ID_PATTERN);
  const counter = f.uint('counter');
  const timestampMs = f.finite('timestampMs', 0, MAX_TIMESTAMP_MS);
  const rateHz = f.has('rateHz') ? rate(f, 'rateHz') : undefined;
  const rawData = f.array('data', 1, limits.maxChannels);
  const data = rawData.map((channel, index) => {
    if (!(channel instanceof Int16Array) && !(channel instanceof Float32Array)) {
      throw new BridgeError(
        'BAD_FIELD',
        `samples.data[${index}] must be a float32 (tag 85) or sint16 (tag 77) typed array`,
      );
    }
    if (channel.length === 0 || channel.length > limits.maxSamplesPerFrame) {
      throw new BridgeError(
        'BAD_FIELD',
        `samples.data[${index}] must hold 1–${limits.maxSamplesPerFrame} samples`,
      );
    }
    return channel;
  });
  const anyInt16 = data.some((channel) => channel instanceof Int16Array);
  if (counter + (data[0]?.length ?? 0) > Number.MAX_SAFE_INTEGER) {
    throw new BridgeError('BAD_FIELD', 'samples.counter + samples in the frame exceeds 2^53 - 1');
  }
  const rawScale = f.optionalArray('scale', data.length, data.length);
  let scale: number[] | undefined;
  if (rawScale !== undefined) {
    scale = rawScale.map((value, index) => {
      const s = f.checkFinite(`scale[${index}]`, value, -Number.MAX_VALUE, Number.MAX_VALUE);
      if (s === 0) throw new BridgeError('BAD_FIELD', `samples.scale[${index}] must not be 0`);
      return s;
    });
  } else if (anyInt16) {
    throw new BridgeError('BAD_MESSAGE', 'samples.scale is required when a channel is int16');
  }
  const rawFlags = f.optionalRaw('flags');
  if (rawFlags !== undefined && !(rawFlags instanceof Uint8Array)) {
    throw new BridgeError('BAD_FIELD', 'samples.flags must be a byte string (or tag 64)');
  }
  f.finish();
  return {
    type: 'samples',
    id,
    stream,
    counter,
    timestampMs,
    ...(rateHz !== undefined ? { rateHz } : {}),
    data,
    ...(scale !== undefined ? { scale } : {}),
    ...(rawFlags !== undefined ? { flags: rawFlags } : {}),
  };
}

/** Parses one decoded client frame. Throws BridgeError (BAD_MESSAGE, BAD_FIELD). */
export function parseClientMessage(value: CborValue, limits: ClientParseLimits): ClientMessage {
  if (!isCborMap(value)) throw new BridgeError('BAD_MESSAGE', 'a frame must hold one CBOR map');
  const type = value.get('type');
  if (typeof type !== 'string' || !(CLIENT_TYPES as readonly string[]).includes(type)) {
    throw new BridgeError('BAD_MESSAGE', `unknown message type ${JSON.stringify(type)}`);
  }
  const t = type as ClientMessageType;
  const fields = new Fields(value, t);
  fields.raw('type');
  const id = fields.uint('id');
  switch (t) {
    case 'hello': {
      const versions = fields
        .array('versions', 1, 16)
        .map((v, i) => fields.checkUint(`versions[${i}]`, v, 0xffff));
      const device = fields.text('device', 64, ID_PATTERN);
      const firmware = fields.text('firmware', 64, VERSION_TEXT);
      const sensors = fields
        .array('sensors', 0, 16)
        .map((s, i) => sensorDecl(s, `hello.sensors[${i}]`, limits));
      const caps = (fields.optionalArray('caps', 0, 32) ?? []).map((c, i) =>
        fields.checkText(`caps[${i}]`, c, 32, CAP_TEXT),
      );
      fields.finish();
      return { type: 'hello', id, versions, device, firmware, sensors, caps };
    }
    case 'open': {
      const stream = fields.text('stream', 64, ID_PATTERN);
      const sensor = fields.oneOf('sensor', SENSOR_KINDS);
      const rateHz = rate(fields, 'rateHz');
      const channels = fields.uint('channels', limits.maxChannels);
      if (channels < 1) throw new BridgeError('BAD_FIELD', 'open.channels must be at least 1');
      const cohort = fields.optionalText('cohort', 128, COHORT_TEXT);
      fields.finish();
      return {
        type: 'open',
        id,
        stream,
        sensor,
        rateHz,
        channels,
        ...(cohort !== undefined ? { cohort } : {}),
      };
    }
    case 'close': {
      const stream = fields.text('stream', 64, ID_PATTERN);
      fields.finish();
      return { type: 'close', id, stream };
    }
    case 'samples':
      return samples(fields, id, limits);
    case 'label': {
      const result = fields.text('result', 256, RESULT_ID_TEXT);
      const raw = fields.uint('value', 1);
      const source = fields.oneOf('source', ['ground-truth', 'clinician'] as const);
      fields.finish();
      return { type: 'label', id, result, value: raw === 1 ? 1 : 0, source };
    }
    case 'status':
    case 'ping':
      fields.finish();
      return { type: t, id };
  }
}

/** The samples of a frame as float32 in physical units (int16 channels × their scale). */
export function physicalChannels(message: SamplesMessage): readonly Float32Array[] {
  if (message.data.every((channel) => channel instanceof Float32Array)) return message.data;
  return message.data.map((channel, index) => {
    if (channel instanceof Float32Array) return channel;
    const scale = message.scale?.[index] ?? 1;
    const out = new Float32Array(channel.length);
    for (let i = 0; i < channel.length; i += 1) out[i] = (channel[i] as number) * scale;
    return out;
  });
}
