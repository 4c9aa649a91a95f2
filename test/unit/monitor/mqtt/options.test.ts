import { describe, expect, it } from 'vitest';
import {
  BACKOFF_DEFAULTS,
  MqttError,
  backoffDelayMs,
  encodeState,
  parseState,
  resolveDeviceClientOptions,
  seededRandom,
} from '../../../../monitor/mqtt/index.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const base = { url: 'mqtt://127.0.0.1:1883', fleet: 'f', device: 'd' };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof MqttError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('device client options', () => {
  it('fills in frozen defaults with a stable client id', () => {
    const o = resolveDeviceClientOptions(base);
    expect(o).toMatchObject({ clientId: 'vigil-f-d', protocol: 'auto', inflightWindow: 64, keepaliveS: 30 });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('validates TLS and client-certificate options', () => {
    const tls = resolveDeviceClientOptions({
      ...base,
      url: 'mqtts://broker.example:8883',
      tls: { ca: PEM, cert: PEM, key: PEM, servername: 'broker.example' },
    }).tls;
    expect(tls).toMatchObject({ rejectUnauthorized: true, servername: 'broker.example' });
    const bad = [
      { ...base, tls: { ca: PEM } }, // TLS options on mqtt://
      { ...base, url: 'mqtts://h', tls: { cert: PEM } }, // cert without key
      { ...base, url: 'mqtts://h', tls: { ca: 'not pem' } },
      { ...base, url: 'mqtts://h', tls: { rejectUnauthorized: 'no' } },
      { ...base, url: 'mqtts://h', tls: { cipher: 'x' } },
    ];
    for (const options of bad) expect(codeOf(() => resolveDeviceClientOptions(options))).toBe('BAD_OPTIONS');
  });

  it('rejects bad values field by field', () => {
    const bad: unknown[] = [
      null,
      { ...base, url: 'http://x' },
      { ...base, url: 'not a url' },
      { ...base, url: 'mqtt://us%zzer:pw@127.0.0.1:1883' },
      { ...base, fleet: 'a/b' },
      { ...base, device: 'update' },
      { ...base, protocol: '4' },
      { ...base, inflightWindow: 0 },
      { ...base, inflightWindow: 70_000 },
      { ...base, reconnect: { initialDelayMs: 100, maxDelayMs: 50 } },
      { ...base, reconnect: { jitterRatio: 2 } },
      { ...base, password: 'p' },
      { ...base, surprise: 1 },
    ];
    for (const options of bad) expect(codeOf(() => resolveDeviceClientOptions(options))).toBe('BAD_OPTIONS');
  });
});

describe('backoff', () => {
  it('grows exponentially to the cap, jittered within [d(1-j), d], and is seeded', () => {
    const a = seededRandom(7, 'dev-1');
    const b = seededRandom(7, 'dev-1');
    const delays = Array.from({ length: 10 }, (_, i) => backoffDelayMs(BACKOFF_DEFAULTS, i, a));
    expect(Array.from({ length: 10 }, (_, i) => backoffDelayMs(BACKOFF_DEFAULTS, i, b))).toEqual(delays);
    delays.forEach((d, i) => {
      const cap = Math.min(30_000, 500 * 2 ** i);
      expect(d).toBeGreaterThanOrEqual(cap / 2);
      expect(d).toBeLessThanOrEqual(cap);
    });
    const other = seededRandom(7, 'dev-2');
    expect(Array.from({ length: 10 }, (_, i) => backoffDelayMs(BACKOFF_DEFAULTS, i, other))).not.toEqual(
      delays,
    );
  });
});

describe('birth/death payloads', () => {
  it('round-trips and rejects what is not a state message', () => {
    const s = {
      v: 1 as const,
      online: true,
      fleet: 'f',
      device: 'd',
      bdSeq: 3,
      cohort: 'c',
      at: 5,
      protocol: 5 as const,
    };
    expect(parseState(encodeState(s))).toEqual(s);
    expect(parseState(new TextEncoder().encode('{"v":2,"online":true}'))).toBeNull();
    expect(parseState(new TextEncoder().encode('nope'))).toBeNull();
    expect(parseState(new Uint8Array(5000).fill(32))).toBeNull();
  });
});
