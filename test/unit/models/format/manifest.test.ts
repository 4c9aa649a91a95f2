import { describe, expect, it } from 'vitest';
import {
  BundleError,
  decodeManifest,
  encodeManifest,
  manifestFromSpec,
  parseManifest,
  type FileEntry,
  type Manifest,
} from '../../../../models/format/index.ts';
import { T0, sampleSpec } from '../../../fixtures/bundles/kit.ts';

const FILES: FileEntry[] = [
  { path: 'model.onnx', size: 4096, sha256: '11'.repeat(32) },
  { path: 'profile.json', size: 17, sha256: '22'.repeat(32) },
  { path: 'evidence.json', size: 14, sha256: '33'.repeat(32) },
];

function manifest(overrides: Record<string, unknown> = {}): Manifest {
  return manifestFromSpec(sampleSpec(overrides), { createdAtMs: T0, files: FILES });
}

/** The plain object of a valid manifest, to alter field by field. */
function plain(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(manifest())) as Record<string, unknown>;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof BundleError) return `${err.code}: ${err.message}`;
    throw err;
  }
}

function set(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  let at: Record<string, unknown> = obj;
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = keys[keys.length - 1] ?? '';
  if (value === undefined) Reflect.deleteProperty(at, last);
  else at[last] = value;
  return obj;
}

describe('manifest', () => {
  it('builds from a spec: computed times and files, validity in days', () => {
    const m = manifest();
    expect(m.formatVersion).toBe(1);
    expect(m.createdAtMs).toBe(T0);
    expect(m.expiresAtMs).toBe(T0 + 365 * 86_400_000);
    expect(m.files).toEqual(FILES);
  });

  it('encodes deterministically and decodes back to the same manifest', () => {
    const m = manifest();
    const bytes = encodeManifest(m);
    expect(decodeManifest(bytes)).toEqual(m);
    expect(encodeManifest(decodeManifest(bytes))).toEqual(bytes);
  });

  it('refuses computed fields in a spec', () => {
    expect(
      codeOf(() => manifestFromSpec({ ...sampleSpec(), files: [] }, { createdAtMs: T0, files: FILES })),
    ).toMatch(/^BAD_MANIFEST: spec.files/);
    expect(
      codeOf(() => manifestFromSpec(sampleSpec({ validityDays: 0 }), { createdAtMs: T0, files: FILES })),
    ).toMatch(/^BAD_MANIFEST: spec.validityDays/);
  });

  it.each([
    ['an unknown top-level field', 'colour', 'blue', /manifest\.colour is not a known field/],
    ['an unknown nested field', 'thresholds.bonus', 1, /manifest\.thresholds\.bonus is not a known field/],
    ['a missing field', 'intendedUse', undefined, /manifest\.intendedUse is missing/],
    ['a wrong type', 'sequence', '12', /manifest\.sequence must be an integer/],
    ['a fractional integer', 'sequence', 12.5, /manifest\.sequence must be an integer/],
    ['a negative sequence', 'sequence', -1, /manifest\.sequence must be at least 0/],
    ['a threshold above 1', 'thresholds.operatingThreshold', 1.2, /operatingThreshold must be at most 1/],
    [
      'a release threshold above the operating one',
      'thresholds.releaseThreshold',
      0.8,
      /releaseThreshold must not exceed/,
    ],
    ['a zero sample rate', 'input.sampleRateHz', 0, /sampleRateHz must be greater than 0/],
    ['a hop longer than the window', 'input.hopS', 5, /hopS must be at most 4/],
    ['an unknown sensor', 'input.sensor', 'eeg', /sensor must be one of/],
    ['a bad semantic version', 'version', '1.2', /semantic version/],
    ['an expiry before creation', 'expiresAtMs', T0 - 1, /expiresAtMs must be later/],
    ['a precursor not below the sequence', 'precursorSequence', 12, /precursorSequence must be lower/],
    ['an empty device class list', 'deviceClasses', [], /deviceClasses must have 1–64 entries/],
    ['a runtime range upside down', 'runtime.maxVersionExclusive', '0.0.1', /must be above minVersion/],
    ['duplicate feature names', 'model.featureNames', ['a', 'a'], /featureNames has duplicates/],
    [
      'a model file not listed in files',
      'model.file',
      'other.onnx',
      /names other.onnx, which is not in files/,
    ],
    ['a NaN-like value', 'ood.maxDistance', null, /maxDistance must be a finite number/],
    ['a fallback rule of unknown op', 'fallback.rule', { op: 'eval', code: 'x' }, /rule\.op must be one of/],
    [
      'an acceptance result that contradicts its numbers',
      'evidence.acceptance',
      [{ metric: 'sensitivity', comparator: '>=', threshold: 0.9, observed: 0.8, passed: true }],
      /passed says true/,
    ],
    ['allPassed that contradicts the criteria', 'evidence.allPassed', false, /allPassed disagrees/],
    ['a motion gate on a non-PPG input', 'quality.motionGateG', 0.5, /applies to PPG inputs only/],
    [
      'a digest in upper case',
      'files',
      [{ path: 'model.onnx', size: 1, sha256: 'AB'.repeat(32) }],
      /sha256 must be a lower-case hex SHA-256/,
    ],
  ])('rejects %s', (_what, path, value, message) => {
    expect(codeOf(() => parseManifest(set(plain(), path, value)))).toMatch(
      new RegExp(`^BAD_MANIFEST: .*${message.source}`),
    );
  });

  it.each([
    ['../model.onnx', 'BAD_PATH'],
    ['/etc/passwd', 'BAD_PATH'],
    ['models\\model.onnx', 'BAD_PATH'],
    ['C:model.onnx', 'BAD_PATH'],
    ['a/./b', 'BAD_PATH'],
    ['a//b', 'BAD_PATH'],
    ['.hidden', 'BAD_PATH'],
    ['a/b/c/d/e', 'BAD_PATH'],
  ])('rejects the file path %s with %s', (path, code) => {
    const m = set(plain(), 'files', [...FILES, { path, size: 1, sha256: '44'.repeat(32) }]);
    expect(codeOf(() => parseManifest(m))).toMatch(new RegExp(`^${code}:`));
  });

  it('rejects duplicate paths, also when they differ only in case, and file/directory clashes', () => {
    const dup = set(plain(), 'files', [...FILES, { path: 'MODEL.onnx', size: 1, sha256: '44'.repeat(32) }]);
    expect(codeOf(() => parseManifest(dup))).toMatch(/^DUPLICATE_PATH:/);
    const clash = set(plain(), 'files', [
      ...FILES,
      { path: 'model.onnx/x', size: 1, sha256: '44'.repeat(32) },
    ]);
    expect(codeOf(() => parseManifest(clash))).toMatch(/^DUPLICATE_PATH:/);
  });

  it('accepts unknown fields only when marked optional, and keeps them as extensions', () => {
    const m = parseManifest({ ...plain(), optionalFields: ['xTrialId'], xTrialId: 'NCT000' });
    expect(m.extensions).toEqual({ xTrialId: 'NCT000' });
    expect(decodeManifest(encodeManifest(m))).toEqual(m);
    expect(codeOf(() => parseManifest({ ...plain(), optionalFields: ['xTrialId'], xOther: 1 }))).toMatch(
      /xOther is not a known field/,
    );
    expect(codeOf(() => parseManifest({ ...plain(), optionalFields: ['sequence'] }))).toMatch(
      /names sequence, which is not optional/,
    );
  });

  it('keeps preprocessing parameters as plain data for the op catalogue to judge', () => {
    const m = manifest();
    expect(m.preprocessing[0]?.params).toEqual({ cutoffHz: 20 });
    expect(
      codeOf(() =>
        parseManifest(
          set(plain(), 'preprocessing', [
            { op: 'Bad-Op', version: 1, inputs: ['input'], output: 'x', params: {} },
          ]),
        ),
      ),
    ).toMatch(/op must be an op name/);
  });

  it('rejects deeply nested rules', () => {
    let rule: unknown = { op: 'const', value: 1 };
    for (let i = 0; i < 20; i++) rule = { op: 'not', arg: rule };
    expect(codeOf(() => parseManifest(set(plain(), 'fallback.rule', rule)))).toMatch(/nests deeper than 16/);
  });
});
