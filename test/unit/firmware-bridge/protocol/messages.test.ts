import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BridgeError,
  decodeCbor,
  encodePayload,
  parseClientMessage,
  parseServerMessage,
  physicalChannels,
  type ClientMessage,
  type SamplesMessage,
  type ServerMessage,
} from '../../../../firmware-bridge/protocol/index.ts';
import { wireRuntimeStatus } from '../../../../firmware-bridge/server/outgoing.ts';

const LIMITS = { maxChannels: 16, maxSamplesPerFrame: 4096 };

function roundTrip(message: object): ClientMessage {
  return parseClientMessage(decodeCbor(encodePayload(message)), LIMITS);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof BridgeError ? error.code : `other: ${String(error)}`;
  }
  return 'no error';
}

const id = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);
const rate = fc.double({ min: 0.001, max: 100_000, noNaN: true });
const sensor = fc.constantFrom('ecg' as const, 'ppg' as const, 'accel' as const);
const uint = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const channel = fc.oneof(
  fc.float32Array({ minLength: 1, maxLength: 32 }),
  fc.int16Array({ minLength: 1, maxLength: 32 }),
);

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const),
    id: uint,
    versions: fc.array(fc.nat({ max: 0xffff }), { minLength: 1, maxLength: 4 }),
    device: id,
    firmware: fc.stringMatching(/^[\x21-\x7e]{1,64}$/),
    sensors: fc.array(fc.record({ sensor, rateHz: rate, channels: fc.integer({ min: 1, max: 16 }) }), {
      maxLength: 3,
    }),
    caps: fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/), { maxLength: 4 }),
  }),
  fc.record(
    {
      type: fc.constant('open' as const),
      id: uint,
      stream: id,
      sensor,
      rateHz: rate,
      channels: fc.integer({ min: 1, max: 16 }),
      cohort: fc.stringMatching(/^[\x20-\x7e]{0,128}$/),
    },
    { requiredKeys: ['type', 'id', 'stream', 'sensor', 'rateHz', 'channels'] },
  ),
  fc.record({ type: fc.constant('close' as const), id: uint, stream: id }),
  fc
    .record(
      {
        type: fc.constant('samples' as const),
        id: uint,
        stream: id,
        counter: fc.nat({ max: Number.MAX_SAFE_INTEGER - 64 }),
        timestampMs: fc.double({ min: 0, max: 2 ** 50, noNaN: true }),
        rateHz: rate,
        data: fc.array(channel, { minLength: 1, maxLength: 3 }),
        flags: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      },
      { requiredKeys: ['type', 'id', 'stream', 'counter', 'timestampMs', 'data'] },
    )
    .map((m): SamplesMessage => ({ ...m, scale: m.data.map((_, i) => (i + 1) * 0.5) })),
  fc.record({
    type: fc.constant('label' as const),
    id: uint,
    result: fc.stringMatching(/^[\x21-\x7e]{1,256}$/),
    value: fc.constantFrom(0 as const, 1 as const),
    source: fc.constantFrom('ground-truth' as const, 'clinician' as const),
  }),
  fc.record({ type: fc.constantFrom('status' as const, 'ping' as const), id: uint }),
);

describe('client messages', () => {
  it('parse back to what was encoded', () => {
    fc.assert(
      fc.property(clientMessage, (message) => {
        expect(roundTrip(message)).toEqual(message);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuse a frame whose last counter would pass 2^53 - 1', () => {
    const message = {
      type: 'samples',
      id: 1,
      stream: 's',
      counter: Number.MAX_SAFE_INTEGER - 1,
      timestampMs: 0,
      data: [new Float32Array(2)],
    };
    expect(code(() => roundTrip(message))).toBe('BAD_FIELD');
  });

  it('accept an integral float where an integer is expected (some encoders emit one)', () => {
    const m = roundTrip({
      type: 'samples',
      id: 1,
      stream: 's',
      counter: 2 ** 40,
      timestampMs: 0,
      data: [new Float32Array(1)],
    });
    expect(m).toMatchObject({ counter: 2 ** 40 });
  });

  const bad: [string, object, string][] = [
    ['no type', { id: 1 }, 'BAD_MESSAGE'],
    ['unknown type', { type: 'hack', id: 1 }, 'BAD_MESSAGE'],
    ['missing id', { type: 'ping' }, 'BAD_MESSAGE'],
    ['negative id', { type: 'ping', id: -1 }, 'BAD_FIELD'],
    ['fractional id', { type: 'ping', id: 1.5 }, 'BAD_FIELD'],
    ['unknown key', { type: 'ping', id: 1, x: 1 }, 'BAD_MESSAGE'],
    [
      'device with a slash',
      { type: 'hello', id: 1, versions: [1], device: 'a/b', firmware: 'f', sensors: [] },
      'BAD_FIELD',
    ],
    [
      'empty versions',
      { type: 'hello', id: 1, versions: [], device: 'd', firmware: 'f', sensors: [] },
      'BAD_FIELD',
    ],
    [
      'sensor unknown',
      { type: 'open', id: 1, stream: 's', sensor: 'eeg', rateHz: 1, channels: 1 },
      'BAD_FIELD',
    ],
    [
      'rate NaN',
      { type: 'open', id: 1, stream: 's', sensor: 'ecg', rateHz: Number.NaN, channels: 1 },
      'BAD_FIELD',
    ],
    [
      'rate Infinity',
      { type: 'open', id: 1, stream: 's', sensor: 'ecg', rateHz: Infinity, channels: 1 },
      'BAD_FIELD',
    ],
    ['rate 0', { type: 'open', id: 1, stream: 's', sensor: 'ecg', rateHz: 0, channels: 1 }, 'BAD_FIELD'],
    [
      'rate as text',
      { type: 'open', id: 1, stream: 's', sensor: 'ecg', rateHz: '250', channels: 1 },
      'BAD_FIELD',
    ],
    ['0 channels', { type: 'open', id: 1, stream: 's', sensor: 'ecg', rateHz: 1, channels: 0 }, 'BAD_FIELD'],
    [
      'too many channels',
      { type: 'open', id: 1, stream: 's', sensor: 'ecg', rateHz: 1, channels: 17 },
      'BAD_FIELD',
    ],
    [
      'timestamp NaN',
      {
        type: 'samples',
        id: 1,
        stream: 's',
        counter: 0,
        timestampMs: Number.NaN,
        data: [new Float32Array(1)],
      },
      'BAD_FIELD',
    ],
    [
      'timestamp negative',
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: -1, data: [new Float32Array(1)] },
      'BAD_FIELD',
    ],
    [
      'counter negative',
      { type: 'samples', id: 1, stream: 's', counter: -5, timestampMs: 0, data: [new Float32Array(1)] },
      'BAD_FIELD',
    ],
    [
      'no channels',
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: 0, data: [] },
      'BAD_FIELD',
    ],
    [
      'empty channel',
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: 0, data: [new Float32Array(0)] },
      'BAD_FIELD',
    ],
    [
      'channel as plain array',
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: 0, data: [[1, 2]] },
      'BAD_FIELD',
    ],
    [
      'float64 channel',
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: 0, data: [new Float64Array(2)] },
      'BAD_CBOR',
    ],
    [
      'too many samples',
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: 0, data: [new Float32Array(4097)] },
      'BAD_FIELD',
    ],
    [
      'int16 without scale',
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: 0, data: [new Int16Array(2)] },
      'BAD_MESSAGE',
    ],
    [
      'scale of 0',
      {
        type: 'samples',
        id: 1,
        stream: 's',
        counter: 0,
        timestampMs: 0,
        data: [new Int16Array(2)],
        scale: [0],
      },
      'BAD_FIELD',
    ],
    [
      'scale NaN',
      {
        type: 'samples',
        id: 1,
        stream: 's',
        counter: 0,
        timestampMs: 0,
        data: [new Int16Array(2)],
        scale: [Number.NaN],
      },
      'BAD_FIELD',
    ],
    [
      'scale length',
      {
        type: 'samples',
        id: 1,
        stream: 's',
        counter: 0,
        timestampMs: 0,
        data: [new Int16Array(2)],
        scale: [1, 2],
      },
      'BAD_FIELD',
    ],
    [
      'flags as array',
      {
        type: 'samples',
        id: 1,
        stream: 's',
        counter: 0,
        timestampMs: 0,
        data: [new Float32Array(1)],
        flags: [0],
      },
      'BAD_FIELD',
    ],
    ['label value 2', { type: 'label', id: 1, result: 'r', value: 2, source: 'clinician' }, 'BAD_FIELD'],
    ['label source', { type: 'label', id: 1, result: 'r', value: 1, source: 'guess' }, 'BAD_FIELD'],
  ];
  it.each(bad)('refuse %s', (_name, message, expected) => {
    expect(code(() => roundTrip(message))).toBe(expected);
  });

  it('convert int16 channels to physical units with their scale', () => {
    const message = roundTrip({
      type: 'samples',
      id: 1,
      stream: 's',
      counter: 0,
      timestampMs: 0,
      data: [Int16Array.from([1000, -1000]), Float32Array.from([0.5, 0.25])],
      scale: [0.001, 99],
    }) as SamplesMessage;
    const [a, b] = physicalChannels(message);
    expect([...(a ?? [])]).toEqual([Math.fround(1), Math.fround(-1)]);
    expect([...(b ?? [])]).toEqual([0.5, 0.25]);
  });
});

const provenance = {
  bundleId: 'b@1',
  modelFamily: 'f',
  modelVersion: '1.0.0',
  sequence: 3,
  manifestSha256: 'ab'.repeat(32),
  thresholdsVersion: 't',
  postprocessingVersion: 'p',
  qualityPolicyVersion: 'q',
  fallbackPolicyVersion: 'fb',
  runtimeVersion: '0.1.0',
  backend: 'wasm' as const,
};

const serverMessages: ServerMessage[] = [
  {
    type: 'hello-ack',
    re: 1,
    version: 1,
    resumed: true,
    streams: [
      { stream: 's', sensor: 'ecg', rateHz: 250, channels: 1, cohort: 'c', next: 10 },
      { stream: 't', sensor: 'accel', rateHz: 50, channels: 3, next: null },
    ],
    limits: {
      maxFrameBytes: 1,
      credits: 2,
      maxStreams: 3,
      maxChannels: 4,
      maxSamplesPerFrame: 5,
      resumeBuffer: 6,
      resumeWindowMs: 7,
    },
    server: { name: 'vigil', version: '0.1.0', device: 'gw' },
    caps: ['float32'],
  },
  { type: 'open-ack', re: 2, stream: 's', resumed: false, next: null },
  { type: 'close-ack', re: 3, stream: 's' },
  { type: 'credit', grant: 8 },
  { type: 'label-ack', re: 4, result: 'd/s:1:f', outcome: 'duplicate' },
  {
    type: 'status-ack',
    re: 5,
    runtime: wireRuntimeStatus({
      deviceId: 'gw',
      runtimeVersion: '0.1.0',
      models: [
        {
          modelFamily: 'f',
          bundleId: 'b',
          version: '1',
          sequence: 1,
          sensor: 'ecg',
          backend: 'node',
          candidateBundleId: 'c',
        },
      ],
      openStreams: 1,
      frozen: true,
    }),
    session: {
      device: 'd',
      firmware: 'fw',
      streams: [
        {
          stream: 's',
          sensor: 'ppg',
          rateHz: 64,
          channels: 1,
          next: 5,
          frames: 1,
          samples: 5,
          rejected: 0,
          results: 0,
        },
      ],
      queued: 0,
      counters: {
        framesIn: 1,
        samplesIn: 5,
        framesRejected: 0,
        creditExceeded: 0,
        resultsDelivered: 0,
        resultsDropped: 0,
        alertsDelivered: 0,
        alertsDropped: 0,
        resumes: 0,
      },
    },
  },
  { type: 'pong', re: 6 },
  {
    type: 'result',
    seq: 1,
    result: 'd/s:0:f',
    stream: 's',
    window: 0,
    first: 0,
    last: 499,
    startMs: 1.5,
    endMs: 2001.5,
    cohort: '',
    status: { kind: 'ok', score: 0.75, label: 'af', positive: true, alert: true },
    provenance,
    latencyMs: 0.25,
  },
  {
    type: 'result',
    seq: 2,
    result: 'd/s:1:f',
    stream: 's',
    window: 1,
    first: 250,
    last: 749,
    startMs: 1,
    endMs: 2,
    cohort: 'x',
    status: { kind: 'indeterminate', score: 0.5, reason: 'SCORE_BAND' },
    provenance,
    latencyMs: 1,
  },
  {
    type: 'result',
    seq: 3,
    result: 'd/s:2:f',
    stream: 's',
    window: 2,
    first: 500,
    last: 999,
    startMs: 1,
    endMs: 2,
    cohort: 'x',
    status: {
      kind: 'fallback',
      reason: 'QUALITY_SENSOR_FLAG',
      detail: '3 samples flagged',
      output: { kind: 'rule', ruleVersion: 'r1', positive: false, label: 'no-finding' },
    },
    provenance,
    latencyMs: 1,
  },
  {
    type: 'alert',
    seq: 4,
    result: 'd/s:0:f',
    stream: 's',
    modelFamily: 'f',
    bundleId: 'b',
    label: 'af',
    atMs: 5,
    source: 'fallback-rule',
  },
  {
    type: 'missed',
    reason: 'detached',
    streams: [{ stream: 's', results: 2, alerts: 1, firstWindow: 3, lastWindow: 4 }],
  },
  {
    type: 'overload',
    reason: 'results-dropped',
    count: 2,
    streams: [{ stream: 's', results: 0, alerts: 2, firstWindow: null, lastWindow: null }],
    totals: { framesRejected: 0, resultsDropped: 0, alertsDropped: 2 },
  },
  {
    type: 'overload',
    reason: 'no-credit',
    count: 1,
    re: 9,
    totals: { framesRejected: 1, resultsDropped: 0, alertsDropped: 0 },
  },
  { type: 'error', re: 7, code: 'OUT_OF_ORDER', message: 'm', stream: 's', fatal: false },
  { type: 'error', code: 'FRAMING', message: 'm', fatal: true },
];

describe('server messages', () => {
  it.each(serverMessages.map((m) => [m.type, m] as const))(
    '%s parses back to what was encoded',
    (_t, message) => {
      expect(parseServerMessage(decodeCbor(encodePayload(message)))).toEqual(message);
    },
  );

  it('ignore unknown keys (a newer server may add fields)', () => {
    expect(parseServerMessage(decodeCbor(encodePayload({ type: 'pong', re: 1, extra: [1, 2] })))).toEqual({
      type: 'pong',
      re: 1,
    });
  });

  it('map an unknown error code to INTERNAL and keep the original in the message', () => {
    const m = parseServerMessage(
      decodeCbor(encodePayload({ type: 'error', code: 'NEW_CODE', message: 'x', fatal: false })),
    );
    expect(m).toMatchObject({ code: 'INTERNAL', message: 'NEW_CODE: x' });
  });

  it('refuse malformed frames with PROTOCOL', () => {
    for (const bad of [{ type: 'pong' }, { type: 'credit', grant: -1 }, { type: 'teleport' }, [1]]) {
      expect(code(() => parseServerMessage(decodeCbor(encodePayload(bad))))).toBe('PROTOCOL');
    }
  });
});
