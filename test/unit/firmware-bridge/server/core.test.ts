import { describe, expect, it } from 'vitest';
import { createBridgeCore, type BridgeLimits } from '../../../../firmware-bridge/server/index.ts';
import { connect, FakeRuntime, frame, hello, ManualClock, MemoryWire, open, samples } from '../helpers.ts';

function setup(limits: Partial<BridgeLimits> = {}, windowSamples = 100) {
  const runtime = new FakeRuntime(windowSamples);
  const clock = new ManualClock();
  const core = createBridgeCore({ runtime, clock, limits });
  return { runtime, clock, core };
}

describe('bridge core: hello and version negotiation', () => {
  it('answers hello with hello-ack: highest shared version, limits, server info', () => {
    const { core } = setup({ credits: 8 });
    const wire = new MemoryWire();
    const c = core.accept(wire);
    c?.receive(frame(hello('dev-1', 7, [0, 1, 9])));
    const [ack] = wire.take();
    expect(ack).toMatchObject({
      type: 'hello-ack',
      re: 7,
      version: 1,
      resumed: false,
      streams: [],
      limits: { credits: 8, maxFrameBytes: 256 * 1024 },
      server: { name: 'vigil', device: 'gateway-fake' },
    });
  });

  it('refuses a hello without a shared version and accepts a later one', () => {
    const { core } = setup();
    const wire = new MemoryWire();
    const c = core.accept(wire);
    c?.receive(frame(hello('dev-1', 1, [2, 3])));
    expect(wire.take()).toMatchObject([{ type: 'error', re: 1, code: 'VERSION_UNSUPPORTED', fatal: false }]);
    c?.receive(frame(hello('dev-1', 2, [1])));
    expect(wire.take()).toMatchObject([{ type: 'hello-ack', re: 2 }]);
  });

  it('requires hello before anything but ping, and refuses a second hello', () => {
    const { core } = setup();
    const wire = new MemoryWire();
    const c = core.accept(wire);
    c?.receive(frame({ type: 'ping', id: 1 }));
    c?.receive(frame(open('ecg0', 2)));
    c?.receive(frame(samples('ecg0', 0, 10, 3)));
    expect(wire.take()).toMatchObject([
      { type: 'pong', re: 1 },
      { type: 'error', re: 2, code: 'HELLO_REQUIRED' },
      { type: 'error', re: 3, code: 'HELLO_REQUIRED' },
    ]);
    c?.receive(frame(hello('dev-1', 4)));
    c?.receive(frame(hello('dev-1', 5)));
    expect(wire.take()).toMatchObject([
      { type: 'hello-ack', re: 4 },
      { type: 'error', re: 5, code: 'HELLO_REPEATED' },
    ]);
  });

  it('closes a connection that never says hello', () => {
    const { core, clock } = setup({ helloTimeoutMs: 500 });
    const wire = new MemoryWire();
    core.accept(wire);
    clock.advance(499);
    expect(wire.ended).toBe(false);
    clock.advance(1);
    expect(wire.take()).toMatchObject([{ type: 'error', code: 'HELLO_TIMEOUT', fatal: true }]);
    expect(wire.ended).toBe(true);
    expect(core.counters.connectionsOpen).toBe(0);
  });

  it('refuses connections beyond maxConnections with a fatal error', () => {
    const { core } = setup({ maxConnections: 1 });
    expect(core.accept(new MemoryWire())).not.toBeNull();
    const second = new MemoryWire();
    expect(core.accept(second)).toBeNull();
    expect(second.take()).toMatchObject([{ type: 'error', code: 'TOO_MANY_CONNECTIONS', fatal: true }]);
    expect(second.ended).toBe(true);
  });

  it('refuses new devices beyond maxSessions (non-fatal)', () => {
    const { core } = setup({ maxSessions: 1 });
    connect(core, 'dev-1');
    const wire = new MemoryWire();
    core.accept(wire)?.receive(frame(hello('dev-2', 9)));
    expect(wire.take()).toMatchObject([{ type: 'error', re: 9, code: 'TOO_MANY_SESSIONS', fatal: false }]);
  });
});

describe('bridge core: streams', () => {
  it('opens a stream in the runtime under a device-scoped id', () => {
    const { core, runtime } = setup();
    const conn = connect(core, 'dev-9', false);
    conn.connection.receive(frame(open('ecg0', 5, { cohort: 'age=65+' })));
    expect(conn.wire.ofType('open-ack')).toMatchObject([
      { re: 5, stream: 'ecg0', resumed: false, next: null },
    ]);
    expect(runtime.streams.get('dev-9/ecg0')?.spec).toEqual({
      deviceId: 'dev-9',
      streamId: 'dev-9/ecg0',
      sensor: 'ecg',
      rateHz: 250,
      channelCount: 1,
      cohort: 'age=65+',
    });
  });

  it('maps runtime refusals to error frames with the PipelineError code', () => {
    const { core } = setup();
    const { wire, connection } = connect(core, 'dev-1', false);
    wire.take();
    connection.receive(frame({ type: 'open', id: 2, stream: 'p', sensor: 'ppg', rateHz: 100, channels: 1 }));
    connection.receive(frame({ type: 'open', id: 3, stream: 'e', sensor: 'ecg', rateHz: 300, channels: 1 }));
    connection.receive(frame({ type: 'open', id: 4, stream: 'a', sensor: 'accel', rateHz: 50, channels: 2 }));
    expect(wire.take()).toMatchObject([
      { type: 'error', re: 2, code: 'NO_MODEL_FOR_SENSOR', stream: 'p', fatal: false },
      { type: 'error', re: 3, code: 'RATE_MISMATCH', stream: 'e' },
      { type: 'error', re: 4, code: 'CHANNEL_MISMATCH', stream: 'a' },
    ]);
  });

  it('treats a repeated open with the same spec as a resume and a different spec as a conflict', () => {
    const { core, runtime } = setup();
    const { wire, connection } = connect(core);
    connection.receive(frame(samples('ecg0', 0, 10, 3)));
    wire.take();
    connection.receive(frame(open('ecg0', 4)));
    connection.receive(frame(open('ecg0', 5, { rateHz: 251 })));
    expect(wire.take()).toMatchObject([
      { type: 'open-ack', re: 4, resumed: true, next: 10 },
      { type: 'error', re: 5, code: 'STREAM_SPEC_CONFLICT' },
    ]);
    expect(runtime.streams.size).toBe(1);
  });

  it('limits streams per device', () => {
    const { core } = setup({ maxStreamsPerSession: 1 });
    const { wire, connection } = connect(core);
    wire.take();
    connection.receive(frame(open('ecg1', 9)));
    expect(wire.take()).toMatchObject([{ type: 'error', re: 9, code: 'TOO_MANY_STREAMS' }]);
  });

  it('closes streams, and refuses to close or feed unknown ones', () => {
    const { core, runtime } = setup();
    const { wire, connection } = connect(core);
    wire.take();
    connection.receive(frame({ type: 'close', id: 3, stream: 'ecg0' }));
    connection.receive(frame({ type: 'close', id: 4, stream: 'ecg0' }));
    connection.receive(frame(samples('ecg0', 0, 10, 5)));
    expect(wire.take()).toMatchObject([
      { type: 'close-ack', re: 3, stream: 'ecg0' },
      { type: 'error', re: 4, code: 'UNKNOWN_STREAM' },
      { type: 'error', re: 5, code: 'UNKNOWN_STREAM' },
    ]);
    expect(runtime.closed).toEqual(['dev-1/ecg0']);
  });
});

describe('bridge core: samples', () => {
  it('pushes float32 samples and int16 samples × scale to the runtime', () => {
    const { core, runtime } = setup();
    const { connection } = connect(core);
    connection.receive(frame(samples('ecg0', 0, 4, 3, { flags: new Uint8Array([0, 1, 0, 4]) })));
    connection.receive(
      frame({
        type: 'samples',
        id: 4,
        stream: 'ecg0',
        counter: 4,
        timestampMs: 5,
        data: [Int16Array.from([100, -200, 0, 32767])],
        scale: [0.01],
      }),
    );
    expect(runtime.pushed).toHaveLength(2);
    expect(runtime.pushed[0]).toMatchObject({ streamId: 'dev-1/ecg0', firstCounter: 0, timestampMs: 1e12 });
    expect([...(runtime.pushed[0]?.flags ?? [])]).toEqual([0, 1, 0, 4]);
    expect([...(runtime.pushed[1]?.channels[0] ?? [])]).toEqual(
      [1, -2, 0, 327.67].map((v) => Math.fround(v)),
    );
  });

  it('decodes well-formed samples frames on the fast path and everything else on the strict path', () => {
    const { core, runtime } = setup();
    const { wire, connection } = connect(core);
    wire.take();
    connection.receive(frame(samples('ecg0', 0, 10, 3)));
    connection.receive(frame({ ...samples('ecg0', 10, 10, 4), flags: new Uint8Array(10) }));
    connection.receive(frame({ ...samples('ecg0', 20, 10, 5), extra: true })); // refused by the strict path
    expect(core.counters.fastPathFrames).toBe(2);
    expect(runtime.pushed).toHaveLength(2);
    expect(wire.ofType('error')).toMatchObject([{ re: 5, code: 'BAD_MESSAGE' }]);
  });

  it('refuses a frame whose rate differs from its stream, and out-of-order counters, without closing', () => {
    const { core, runtime } = setup();
    const { wire, connection } = connect(core);
    wire.take();
    connection.receive(frame(samples('ecg0', 0, 10, 3, { rateHz: 500 })));
    connection.receive(frame(samples('ecg0', 100, 10, 4)));
    connection.receive(frame(samples('ecg0', 50, 10, 5)));
    connection.receive(frame(samples('ecg0', 110, 10, 6)));
    expect(wire.ofType('error')).toMatchObject([
      { re: 3, code: 'RATE_MISMATCH', stream: 'ecg0' },
      { re: 5, code: 'OUT_OF_ORDER', stream: 'ecg0' },
    ]);
    expect(runtime.pushed.map((f) => f.firstCounter)).toEqual([100, 110]);
    expect(connection.isOpen).toBe(true);
    expect(core.session('dev-1')?.streamCounters()[0]).toMatchObject({ frames: 2, rejected: 2, next: 120 });
  });

  it('refuses a counter jump beyond maxCounterGapS (the runtime fills gaps window by window)', () => {
    const { core, runtime } = setup({ maxCounterGapS: 10 });
    const { wire, connection } = connect(core);
    wire.take();
    connection.receive(frame(samples('ecg0', 2 ** 40, 10, 3))); // the first frame may start anywhere
    connection.receive(frame(samples('ecg0', 2 ** 40 + 10 + 2501, 10, 4))); // 10 s at 250 Hz = 2500
    connection.receive(frame(samples('ecg0', 2 ** 40 + 10 + 2500, 10, 5)));
    expect(wire.ofType('error')).toMatchObject([
      { re: 4, code: 'COUNTER_GAP', stream: 'ecg0', fatal: false },
    ]);
    expect(runtime.pushed.map((f) => f.firstCounter - 2 ** 40)).toEqual([0, 2510]);
  });

  it('keeps error messages short and printable even when they quote hostile input', () => {
    const { core } = setup();
    const { wire, connection } = connect(core);
    wire.take();
    connection.receive(frame({ type: 'ping', id: 3, ['\u0000é'.repeat(300)]: 1 }));
    const [error] = wire.ofType('error');
    expect(error?.code).toBe('BAD_MESSAGE');
    expect(error?.message.length).toBeLessThanOrEqual(256);
    expect(error?.message).toMatch(/^[\x20-\x7e]+$/);
  });

  it('answers a runtime bug with INTERNAL and keeps serving', () => {
    const { core, runtime } = setup();
    const { wire, connection } = connect(core);
    wire.take();
    runtime.throwOnPush = new TypeError('bug');
    connection.receive(frame(samples('ecg0', 0, 10, 3)));
    runtime.throwOnPush = null;
    connection.receive(frame(samples('ecg0', 0, 10, 4)));
    expect(wire.ofType('error')).toMatchObject([{ re: 3, code: 'INTERNAL', fatal: false }]);
    expect(core.counters.internalErrors).toBe(1);
    expect(runtime.pushed).toHaveLength(1);
  });
});

describe('bridge core: decoding errors', () => {
  it('answers malformed CBOR, bad messages and bad fields with codes and keeps the connection', () => {
    const { core } = setup();
    const { wire, connection } = connect(core);
    wire.take();
    const raw = (bytes: number[]): Buffer => {
      const b = Buffer.alloc(4 + bytes.length);
      b.writeUInt32BE(bytes.length, 0);
      b.set(bytes, 4);
      return b;
    };
    connection.receive(raw([0xa1, 0x61])); // truncated
    connection.receive(raw([0x01])); // not a map
    connection.receive(frame({ type: 'nope', id: 5 }));
    connection.receive(frame({ ...samples('ecg0', 0, 1, 6), timestampMs: Number.NaN }));
    connection.receive(frame({ ...samples('ecg0', 0, 1, 7), extra: 1 }));
    connection.receive(raw([0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02])); // duplicate key
    connection.receive(raw([])); // empty frame
    expect(wire.take().map((f) => (f.type === 'error' ? [f.code, f.re] : f.type))).toEqual([
      ['BAD_CBOR', undefined],
      ['BAD_MESSAGE', undefined],
      ['BAD_MESSAGE', 5],
      ['BAD_FIELD', 6],
      ['BAD_MESSAGE', 7],
      ['BAD_CBOR', undefined],
      ['BAD_CBOR', undefined],
    ]);
    expect(connection.isOpen).toBe(true);
  });

  it('skips an oversized frame and reads the next one; closes on a length beyond the skip limit', () => {
    const { core } = setup({ maxFrameBytes: 1024, maxSkipBytes: 4096 });
    const { wire, connection } = connect(core);
    wire.take();
    const big = Buffer.alloc(4 + 2000, 0xff);
    big.writeUInt32BE(2000, 0);
    connection.receive(Buffer.concat([big.subarray(0, 1000)]));
    connection.receive(Buffer.concat([big.subarray(1000), frame({ type: 'ping', id: 8 })]));
    expect(wire.take()).toMatchObject([
      { type: 'error', code: 'FRAME_TOO_LARGE', fatal: false },
      { type: 'pong', re: 8 },
    ]);
    connection.receive(Buffer.from([0x00, 0x10, 0x00, 0x00]));
    expect(wire.take()).toMatchObject([{ type: 'error', code: 'FRAMING', fatal: true }]);
    expect(wire.ended).toBe(true);
    expect(connection.isOpen).toBe(false);
  });
});

describe('bridge core: results, alerts and labels', () => {
  it('routes results and alerts to the device that owns the stream, with a per-device sequence', () => {
    const { core, runtime } = setup({}, 10);
    runtime.alertEvery = 2;
    const a = connect(core, 'dev-a');
    const b = connect(core, 'dev-b');
    a.wire.take();
    b.wire.take();
    a.connection.receive(frame(samples('ecg0', 0, 20, 3)));
    b.connection.receive(frame(samples('ecg0', 0, 10, 3)));
    runtime.emitForeign('other-front-end-stream');
    const aOut = a.wire.take().flatMap((f) => (f.type === 'result' || f.type === 'alert' ? [f] : []));
    expect(aOut.map((f) => [f.type, f.seq])).toEqual([
      ['result', 1],
      ['result', 2],
      ['alert', 3],
    ]);
    expect(aOut[0]).toMatchObject({
      type: 'result',
      result: 'dev-a/ecg0:0:fake',
      stream: 'ecg0',
      window: 0,
      first: 0,
      last: 9,
      status: { kind: 'ok', score: 0.25, label: 'normal', positive: false, alert: false },
      provenance: { bundleId: 'fake@1', backend: 'node' },
    });
    expect(aOut[2]).toMatchObject({
      type: 'alert',
      result: 'dev-a/ecg0:1:fake',
      stream: 'ecg0',
      source: 'model',
    });
    expect(b.wire.ofType('result').map((r) => r.result)).toEqual(['dev-b/ecg0:0:fake']);
  });

  it('lets a device label only its own results', () => {
    const { core, runtime, clock } = setup({}, 10);
    const a = connect(core, 'dev-a');
    const b = connect(core, 'dev-b');
    a.connection.receive(frame(samples('ecg0', 0, 10, 3)));
    a.wire.take();
    b.connection.receive(
      frame({ type: 'label', id: 4, result: 'dev-a/ecg0:0:fake', value: 1, source: 'clinician' }),
    );
    a.connection.receive(
      frame({ type: 'label', id: 5, result: 'dev-a/ecg0:0:fake', value: 1, source: 'clinician' }),
    );
    a.connection.receive(
      frame({ type: 'label', id: 6, result: 'dev-a/ecg0:0:fake', value: 0, source: 'ground-truth' }),
    );
    a.connection.receive(
      frame({ type: 'label', id: 7, result: 'dev-a/ecg0:99:fake', value: 0, source: 'ground-truth' }),
    );
    expect(b.wire.ofType('label-ack')).toMatchObject([{ re: 4, outcome: 'unknown-result' }]);
    expect(a.wire.ofType('label-ack').map((x) => x.outcome)).toEqual([
      'accepted',
      'duplicate',
      'unknown-result',
    ]);
    expect(runtime.labels).toEqual([
      { resultId: 'dev-a/ecg0:0:fake', value: 1, source: 'clinician', atMs: clock.now },
    ]);
  });

  it('reports status: runtime models and this device’s streams and counters', () => {
    const { core } = setup({}, 10);
    const { wire, connection } = connect(core);
    connection.receive(frame(samples('ecg0', 0, 25, 3)));
    wire.take();
    connection.receive(frame({ type: 'status', id: 9 }));
    const [status] = wire.ofType('status-ack');
    expect(status).toMatchObject({
      re: 9,
      runtime: { deviceId: 'gateway-fake', openStreams: 1, models: [{ modelFamily: 'fake' }] },
      session: {
        device: 'dev-1',
        firmware: 'fw-1.0',
        queued: 0,
        streams: [{ stream: 'ecg0', next: 25, frames: 1, samples: 25, results: 2, rejected: 0 }],
        counters: { framesIn: 1, samplesIn: 25, resultsDelivered: 2 },
      },
    });
  });
});

describe('bridge core: credits and overload', () => {
  it('grants the initial credit in hello-ack and returns it in batches as frames are processed', () => {
    const { core } = setup({ credits: 8 });
    const { wire, connection } = connect(core);
    wire.take();
    for (let i = 0; i < 5; i += 1) connection.receive(frame(samples('ecg0', i * 10, 10, 10 + i)));
    // batch = credits / 4 = 2 → grants after frames 2 and 4
    expect(wire.ofType('credit').map((c) => c.grant)).toEqual([2, 2]);
    expect(connection.credit).toEqual({ balance: 7, owed: 1 });
  });

  it('drops samples frames sent without credit and says so in an overload frame', () => {
    const { core, runtime } = setup({ credits: 2, creditHoldResults: 0 }, 1000);
    const { wire, connection } = connect(core);
    wire.take();
    wire.blocked = true;
    connection.receive(frame({ type: 'ping', id: 2 })); // the socket now reports backpressure: no grants
    connection.receive(frame(samples('ecg0', 0, 500, 3)));
    connection.receive(frame(samples('ecg0', 500, 500, 4))); // completes a window: a result waits
    connection.receive(frame(samples('ecg0', 1000, 10, 5)));
    connection.receive(frame(samples('ecg0', 1010, 10, 6)));
    expect(runtime.pushed.map((f) => f.firstCounter)).toEqual([0, 500]);
    wire.blocked = false;
    connection.drained();
    expect(wire.take().map((f) => f.type)).toEqual(['pong', 'overload', 'result', 'credit']);
    expect(wire.frames).toEqual([]);
    expect(core.counters.creditExceeded).toBe(2);
  });

  it('reports the dropped frames in the overload frame', () => {
    const { core } = setup({ credits: 1 });
    const { wire, connection } = connect(core);
    wire.take();
    wire.blocked = true;
    connection.receive(frame({ type: 'ping', id: 2 }));
    connection.receive(frame(samples('ecg0', 0, 10, 3)));
    connection.receive(frame(samples('ecg0', 10, 10, 4)));
    connection.receive(frame(samples('ecg0', 20, 10, 5)));
    wire.blocked = false;
    connection.drained();
    expect(wire.ofType('overload')).toEqual([
      {
        type: 'overload',
        reason: 'no-credit',
        count: 2,
        re: 5,
        totals: { framesRejected: 2, resultsDropped: 0, alertsDropped: 0 },
      },
    ]);
    expect(wire.ofType('credit')).toEqual([{ type: 'credit', grant: 1 }]);
  });

  it('holds credit while the device has too many windows without results (runtime reports windows)', () => {
    const { core, runtime, clock } = setup({ credits: 4, maxWindowsInFlight: 2, inFlightStaleMs: 1000 }, 10);
    runtime.deferResults = true;
    runtime.reportWindows = true;
    const { wire, connection } = connect(core);
    wire.take();
    for (let i = 0; i < 4; i += 1) connection.receive(frame(samples('ecg0', i * 10, 10, 10 + i)));
    expect(wire.ofType('credit')).toEqual([
      { type: 'credit', grant: 1 },
      { type: 'credit', grant: 1 },
    ]);
    wire.take();
    runtime.flush(1); // 3 windows in flight: still held
    expect(wire.ofType('credit')).toEqual([]);
    runtime.flush(1);
    expect(wire.ofType('credit')).toEqual([{ type: 'credit', grant: 2 }]);
    wire.take();
    // no results at all: after the stale time the hold is released
    for (let i = 4; i < 8; i += 1) connection.receive(frame(samples('ecg0', i * 10, 10, 10 + i)));
    const held = wire.ofType('credit').length;
    clock.advance(1000);
    expect(wire.ofType('credit').length).toBeGreaterThan(held);
  });

  it('queues results for a client that does not read, drops the oldest beyond the bound and reports it', () => {
    const { core, runtime } = setup({ resumeBuffer: 3, credits: 64 }, 10);
    const { wire, connection } = connect(core);
    wire.take();
    wire.blocked = true;
    connection.receive(frame({ type: 'ping', id: 3 })); // the socket now reports backpressure
    for (let i = 0; i < 6; i += 1) connection.receive(frame(samples('ecg0', i * 10, 10, 10 + i)));
    expect(runtime.pushed).toHaveLength(6);
    expect(core.session('dev-1')?.queued).toBe(3);
    wire.blocked = false;
    connection.drained();
    const out = wire.take().filter((f) => f.type !== 'credit');
    expect(out).toMatchObject([
      { type: 'pong' },
      {
        type: 'overload',
        reason: 'results-dropped',
        count: 3,
        streams: [{ stream: 'ecg0', results: 3, alerts: 0, firstWindow: 0, lastWindow: 2 }],
        totals: { resultsDropped: 3 },
      },
      { type: 'result', window: 3, seq: 4 },
      { type: 'result', window: 4, seq: 5 },
      { type: 'result', window: 5, seq: 6 },
    ]);
    expect(core.counters.resultsDropped).toBe(3);
  });

  it('keeps alerts over results when the queue overflows', () => {
    const { core, runtime } = setup({ resumeBuffer: 2 }, 10);
    runtime.alertEvery = 1;
    const { wire, connection } = connect(core);
    wire.take();
    wire.blocked = true;
    connection.receive(frame({ type: 'ping', id: 3 }));
    connection.receive(frame(samples('ecg0', 0, 20, 4)));
    wire.blocked = false;
    connection.drained();
    expect(
      wire
        .take()
        .filter((f) => f.type === 'alert' || f.type === 'result')
        .map((f) => f.type),
    ).toEqual(['alert', 'alert']);
  });

  it('disconnects a client that reads nothing for the stall timeout (only that client)', () => {
    const { core, clock } = setup({ stallTimeoutMs: 1000 }, 10);
    const slow = connect(core, 'dev-slow');
    const fast = connect(core, 'dev-fast');
    slow.wire.blocked = true;
    slow.connection.receive(frame({ type: 'ping', id: 3 }));
    clock.advance(999);
    fast.connection.receive(frame(samples('ecg0', 0, 10, 3)));
    expect(fast.wire.ofType('result')).toHaveLength(1);
    clock.advance(1);
    expect(slow.wire.ofType('error')).toMatchObject([{ code: 'SLOW_CONSUMER', fatal: true }]);
    expect(slow.wire.destroyed).toBe(true);
    expect(fast.connection.isOpen).toBe(true);
  });

  it('pauses reading a client that floods requests without reading the answers', () => {
    const { core } = setup({ maxControlQueueFrames: 4 });
    const { wire, connection } = connect(core);
    wire.blocked = true;
    connection.receive(frame({ type: 'ping', id: 1 }));
    for (let i = 0; i < 5; i += 1) connection.receive(frame({ type: 'ping', id: 2 + i }));
    expect(wire.paused).toBe(true);
    expect(connection.queuedControlFrames).toBe(5);
    wire.blocked = false;
    connection.drained();
    expect(wire.paused).toBe(false);
    expect(wire.ofType('pong')).toHaveLength(6);
  });
});

describe('bridge core: reconnect and resume', () => {
  it('keeps the session of a device that went away, buffers its results and delivers them on resume', () => {
    const { core, runtime } = setup({ resumeBuffer: 100 }, 10);
    runtime.deferResults = true;
    const first = connect(core);
    first.connection.receive(frame(samples('ecg0', 0, 30, 3)));
    runtime.flush(1);
    first.connection.ended();
    expect(first.wire.ofType('result')).toHaveLength(1);
    runtime.flush(); // two results while the device is away
    expect(core.session('dev-1')?.queued).toBe(2);

    const wire = new MemoryWire();
    core.accept(wire)?.receive(frame(hello('dev-1', 1)));
    const out = wire.take();
    expect(out[0]).toMatchObject({
      type: 'hello-ack',
      resumed: true,
      streams: [{ stream: 'ecg0', sensor: 'ecg', rateHz: 250, channels: 1, next: 30 }],
    });
    expect(out.slice(1).map((f) => (f.type === 'result' ? [f.window, f.seq] : f.type))).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(core.counters.sessionsResumed).toBe(1);
  });

  it('reports results beyond the resume buffer as missed, with counts and window range', () => {
    const { core, runtime } = setup({ resumeBuffer: 2 }, 10);
    runtime.deferResults = true;
    const first = connect(core);
    first.connection.receive(frame(samples('ecg0', 0, 50, 3)));
    first.connection.ended();
    runtime.flush();
    const wire = new MemoryWire();
    core.accept(wire)?.receive(frame(hello('dev-1', 1)));
    expect(wire.take().slice(1)).toMatchObject([
      {
        type: 'missed',
        reason: 'detached',
        streams: [{ stream: 'ecg0', results: 3, alerts: 0, firstWindow: 0, lastWindow: 2 }],
      },
      { type: 'result', window: 3, seq: 4 },
      { type: 'result', window: 4, seq: 5 },
    ]);
  });

  it('closes the streams of a device that does not come back within the resume window', () => {
    const { core, runtime, clock } = setup({ resumeWindowMs: 5000 });
    const first = connect(core);
    first.connection.ended();
    clock.advance(4999);
    expect(runtime.closed).toEqual([]);
    clock.advance(1);
    expect(runtime.closed).toEqual(['dev-1/ecg0']);
    expect(core.sessionCount).toBe(0);
    const wire = new MemoryWire();
    core.accept(wire)?.receive(frame(hello('dev-1', 1)));
    expect(wire.take()[0]).toMatchObject({ type: 'hello-ack', resumed: false, streams: [] });
  });

  it('hands the session to a new connection of the same device and closes the old one', () => {
    const { core, runtime } = setup({}, 10);
    const old = connect(core);
    const wire = new MemoryWire();
    const c = core.accept(wire);
    c?.receive(frame(hello('dev-1', 1)));
    expect(old.wire.ofType('error')).toMatchObject([{ code: 'SESSION_TAKEN_OVER', fatal: true }]);
    expect(old.connection.isOpen).toBe(false);
    expect(wire.take()[0]).toMatchObject({ type: 'hello-ack', resumed: true });
    c?.receive(frame(samples('ecg0', 0, 10, 2)));
    expect(wire.ofType('result')).toHaveLength(1);
    expect(runtime.closed).toEqual([]);
    expect(core.counters.takeovers).toBe(1);
  });
});

describe('bridge core: shutdown', () => {
  it('tells every client, closes their streams and unsubscribes from the runtime', () => {
    const { core, runtime } = setup();
    const a = connect(core, 'dev-a');
    const b = connect(core, 'dev-b');
    b.connection.ended();
    core.shutdown();
    expect(a.wire.ofType('error')).toMatchObject([{ code: 'SHUTTING_DOWN', fatal: true }]);
    expect(runtime.closed.sort()).toEqual(['dev-a/ecg0', 'dev-b/ecg0']);
    expect(runtime.listenerCount).toBe(0);
    const late = new MemoryWire();
    expect(core.accept(late)).toBeNull();
    expect(late.ofType('error')).toMatchObject([{ code: 'SHUTTING_DOWN' }]);
  });
});
