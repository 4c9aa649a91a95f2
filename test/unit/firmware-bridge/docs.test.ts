// docs/firmware-bridge.md must stay true: its worked examples decode to what they say, its tables
// list every error code and every default limit, and its CDDL defines every message.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodeCbor,
  FRAME_HEADER_BYTES,
  parseClientMessage,
  tryDecodeSamples,
  WIRE_ERROR_CODES,
} from '../../../firmware-bridge/protocol/index.ts';
import { DEFAULT_BRIDGE_LIMITS } from '../../../firmware-bridge/server/index.ts';

const DOC = fs.readFileSync(
  fileURLToPath(new URL('../../../docs/firmware-bridge.md', import.meta.url)),
  'utf8',
);
const LIMITS = { maxChannels: 16, maxSamplesPerFrame: 65536 };

function example(name: string): Buffer {
  const match = new RegExp(`<!-- example:${name} -->\\s*\`\`\`\\s*([0-9a-f]+)\\s*\`\`\``).exec(DOC);
  if (!match?.[1]) throw new Error(`no example ${name}`);
  const bytes = Buffer.from(match[1], 'hex');
  expect(bytes.readUInt32BE(0)).toBe(bytes.length - FRAME_HEADER_BYTES);
  return bytes.subarray(FRAME_HEADER_BYTES);
}

describe('docs/firmware-bridge.md', () => {
  it('hello example decodes to the hello it describes', () => {
    expect(parseClientMessage(decodeCbor(example('hello')), LIMITS)).toEqual({
      type: 'hello',
      id: 1,
      versions: [1],
      device: 'wrist-01',
      firmware: 'fw-2.3.1',
      sensors: [{ sensor: 'ecg', rateHz: 250, channels: 1 }],
      caps: [],
    });
  });

  it('samples example decodes to the samples it describes (general and fast path)', () => {
    const expected = {
      type: 'samples',
      id: 3,
      stream: 'ecg0',
      counter: 0,
      timestampMs: 1_700_000_000_000,
      rateHz: 250,
      data: [Float32Array.from([0, 0.5, 1, -0.25])],
      flags: Uint8Array.from([0, 0, 1, 0]),
    };
    const payload = example('samples');
    expect(parseClientMessage(decodeCbor(payload), LIMITS)).toEqual(expected);
    expect(tryDecodeSamples(payload, { ...LIMITS, maxBytesLength: 1 << 20 })).toEqual(expected);
  });

  it('lists every wire error code in the error table', () => {
    for (const code of WIRE_ERROR_CODES) expect(DOC).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });

  it('gives every default limit, with its value', () => {
    const table = DOC.slice(DOC.indexOf('<!-- limits-table -->'));
    for (const [name, value] of Object.entries(DEFAULT_BRIDGE_LIMITS)) {
      expect(table).toMatch(new RegExp(`^\\| \`${name}\` \\| ${value} \\|`, 'm'));
    }
  });

  it('defines every message in the CDDL', () => {
    const cddl = /```cddl([\s\S]*?)```/.exec(DOC)?.[1] ?? '';
    const types = [
      'hello',
      'hello-ack',
      'open',
      'open-ack',
      'close',
      'close-ack',
      'samples',
      'credit',
      'label',
      'label-ack',
      'status',
      'status-ack',
      'ping',
      'pong',
      'result',
      'alert',
      'missed',
      'overload',
      'error',
    ];
    for (const t of types) expect(cddl).toContain(`type: "${t}"`);
  });
});
