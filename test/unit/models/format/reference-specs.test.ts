// The example bundle specs of the reference models must stay consistent with what was trained: the
// preprocessing compiles against the op catalogue and the trained artefacts agree with the spec.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { manifestFromSpec } from '../../../../models/format/index.ts';
import { AF_SCREENER_SPEC } from '../../../../models/reference/af-screener/spec.ts';
import { FALL_DETECTOR_SPEC } from '../../../../models/reference/fall-detector/spec.ts';
import { validatePreprocessingWithOps } from '../../../../runtime/verify/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../models/reference');
const json = (model: string, file: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(root, model, file), 'utf8')) as Record<string, unknown>;

describe.each([
  ['fall-detector', FALL_DETECTOR_SPEC, { sensor: 'accel', hopS: 1 }],
  ['af-screener', AF_SCREENER_SPEC, { sensor: 'ecg', hopS: 5 }],
])('%s bundle.json', (model, trained, expected) => {
  const files = ['model.onnx', 'profile.json', 'evidence.json'].map((p) => ({
    path: p,
    size: 1,
    sha256: '00'.repeat(32),
  }));
  const manifest = manifestFromSpec(json(model, 'bundle.json'), { createdAtMs: Date.UTC(2026, 0, 1), files });

  it('is a valid manifest whose preprocessing compiles against the op catalogue', () => {
    expect(manifest.modelFamily).toBe(model);
    expect(() => {
      validatePreprocessingWithOps(manifest);
    }).not.toThrow();
  });

  it('matches the trained model: input, preprocessing, features, tensor names', () => {
    expect(manifest.input.sensor).toBe(expected.sensor);
    expect(manifest.input.sampleRateHz).toBe(trained.input.rateHz);
    expect(manifest.input.channels).toHaveLength(trained.input.channels);
    expect(manifest.input.windowS).toBe(trained.input.windowS);
    expect(manifest.input.hopS).toBe(expected.hopS);
    expect(manifest.preprocessing).toEqual(trained.preprocessing);
    expect(manifest.model.featuresFrom).toBe(trained.featuresFrom);
    expect(manifest.model.inputName).toBe(trained.inputName);
    expect(manifest.model.outputName).toBe(trained.outputName);
    expect(manifest.model.featureNames).toEqual(json(model, 'build.json').featureNames);
  });

  it('carries the trained thresholds, evidence summary and provenance', () => {
    const build = json(model, 'build.json') as { thresholds: Record<string, number> };
    const evidence = json(model, 'evidence.json') as {
      summary: unknown;
      provenance: Record<string, unknown>;
    };
    expect({ ...manifest.thresholds, version: undefined }).toEqual({
      ...build.thresholds,
      version: undefined,
    });
    expect(manifest.evidence).toEqual(evidence.summary);
    const { dataset: _dataset, ...provenance } = evidence.provenance;
    expect(manifest.provenance).toEqual(provenance);
  });
});
