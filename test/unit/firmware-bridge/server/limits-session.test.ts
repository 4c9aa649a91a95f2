import { describe, expect, it } from 'vitest';
import { BridgeError } from '../../../../firmware-bridge/protocol/index.ts';
import { DEFAULT_BRIDGE_LIMITS, resolveLimits } from '../../../../firmware-bridge/server/index.ts';
import { LossTracker, Session } from '../../../../firmware-bridge/server/session.ts';
import { fakeResult } from '../helpers.ts';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof BridgeError ? error.code : 'other';
  }
  return 'no error';
}

describe('bridge limits', () => {
  it('defaults are valid and frozen; overrides merge', () => {
    expect(resolveLimits()).toEqual(DEFAULT_BRIDGE_LIMITS);
    expect(Object.isFrozen(resolveLimits())).toBe(true);
    expect(resolveLimits({ credits: 4 }).credits).toBe(4);
  });

  it('refuses unknown names, non-integers, out-of-range values and inconsistent skip limits', () => {
    expect(code(() => resolveLimits({ nope: 1 } as never))).toBe('BAD_CONFIG');
    expect(code(() => resolveLimits({ credits: 1.5 }))).toBe('BAD_CONFIG');
    expect(code(() => resolveLimits({ credits: 0 }))).toBe('BAD_CONFIG');
    expect(code(() => resolveLimits({ maxFrameBytes: Number.NaN }))).toBe('BAD_CONFIG');
    expect(code(() => resolveLimits({ maxFrameBytes: 2 ** 20, maxSkipBytes: 2 ** 19 }))).toBe('BAD_CONFIG');
  });
});

const spec = { deviceId: 'd', streamId: 'd/s', sensor: 'ecg' as const, rateHz: 250, channelCount: 1 };
const hello = {
  type: 'hello' as const,
  id: 1,
  versions: [1],
  device: 'd',
  firmware: 'f',
  sensors: [],
  caps: [],
};

describe('session FIFO', () => {
  it('numbers items, keeps at most `capacity`, drops the oldest result first and records the loss', () => {
    const session = new Session('d', hello, 3);
    const alert = {
      kind: 'alert' as const,
      resultId: 'd/s:0:f',
      streamId: 'd/s',
      modelFamily: 'f',
      bundleId: 'b',
      label: 'x',
      atMs: 0,
      source: 'model' as const,
    };
    session.enqueue({ kind: 'alert', stream: 's', alert });
    for (let w = 0; w < 4; w += 1)
      session.enqueue({ kind: 'result', stream: 's', result: fakeResult(spec, w, 10, 0) });
    expect(session.queued).toBe(3);
    const kept = [session.shift(), session.shift(), session.shift()].map((i) =>
      i?.kind === 'result' ? [i.seq, i.result.windowIndex] : [i?.seq, 'alert'],
    );
    expect(kept).toEqual([
      [1, 'alert'],
      [4, 2],
      [5, 3],
    ]);
    expect(session.counters.resultsDropped).toBe(2);
    expect(session.detachedLoss.take()).toEqual({
      streams: [{ stream: 's', results: 2, alerts: 0, firstWindow: 0, lastWindow: 1 }],
      count: 2,
    });
  });

  it('stays bounded over many items and compacts its storage', () => {
    const session = new Session('d', hello, 10);
    for (let w = 0; w < 5000; w += 1) {
      session.enqueue({ kind: 'result', stream: 's', result: fakeResult(spec, w, 10, 0) });
      if (w % 3 === 0) session.shift();
    }
    expect(session.queued).toBe(10);
  });

  it('moves unreported live losses to the missed report when the device detaches', () => {
    const a = new LossTracker();
    const b = new LossTracker();
    a.add({ kind: 'result', seq: 1, stream: 's', result: fakeResult(spec, 5, 10, 0) });
    b.add({ kind: 'result', seq: 2, stream: 's', result: fakeResult(spec, 2, 10, 0) });
    b.add({ kind: 'result', seq: 3, stream: 't', result: fakeResult(spec, 9, 10, 0) });
    a.mergeFrom(b);
    expect(b.isEmpty).toBe(true);
    expect(a.take().streams).toEqual([
      { stream: 's', results: 2, alerts: 0, firstWindow: 2, lastWindow: 5 },
      { stream: 't', results: 1, alerts: 0, firstWindow: 9, lastWindow: 9 },
    ]);
  });
});
