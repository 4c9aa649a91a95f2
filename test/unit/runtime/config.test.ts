import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_MAX_BYTES,
  ConfigError,
  DEFAULT_CONFIG,
  parseConfigFile,
  resolveConfig,
} from '../../../runtime/config.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    return error instanceof ConfigError ? error.code : 'other';
  }
}

describe('runtime config', () => {
  it('merges valid overrides over frozen defaults', () => {
    const config = parseConfigFile(bytes('{"deviceId":"gw-7","backend":"wasm","maxBatch":32}'));
    expect(config.deviceId).toBe('gw-7');
    expect(config.backend).toBe('wasm');
    expect(config.maxBatch).toBe(32);
    expect(config.inferenceDeadlineMs).toBe(DEFAULT_CONFIG.inferenceDeadlineMs);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(DEFAULT_CONFIG)).toBe(true);
  });

  it('rejects bad files with specific codes', () => {
    expect(codeOf(() => parseConfigFile(new Uint8Array(CONFIG_MAX_BYTES + 1)))).toBe('TOO_LARGE');
    expect(codeOf(() => parseConfigFile(bytes('{')))).toBe('NOT_JSON');
    expect(codeOf(() => parseConfigFile(Uint8Array.of(0xff, 0xfe)))).toBe('NOT_JSON');
    expect(codeOf(() => parseConfigFile(bytes('[1]')))).toBe('NOT_OBJECT');
    expect(codeOf(() => parseConfigFile(bytes('{"deviceID":"x"}')))).toBe('UNKNOWN_FIELD');
    expect(codeOf(() => parseConfigFile(bytes('{"maxBatch":0}')))).toBe('BAD_VALUE');
    expect(codeOf(() => parseConfigFile(bytes('{"backend":"gpu"}')))).toBe('BAD_VALUE');
    expect(codeOf(() => parseConfigFile(bytes('{"inferenceDeadlineMs":1.5}')))).toBe('BAD_VALUE');
    expect(codeOf(() => resolveConfig({ __proto__: { deviceId: 1 } }))).toBe('none');
  });

  it('never throws anything but ConfigError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.uint8Array({ maxLength: 200 }).map((b) => b),
        ),
        (input) => {
          const data = typeof input === 'string' ? bytes(input) : input;
          const code = codeOf(() => parseConfigFile(data));
          expect(code).not.toBe('other');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
