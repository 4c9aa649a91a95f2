// Both inference backends on the real reference models (issue 2 §4, issue 4 "Inference"):
// onnxruntime-node and onnxruntime-web agree within 1e-5 on each reference model's test set (the
// test split regenerated from the simulator exactly as `vigil models build` made it, features through
// the manifest's own preprocessing plan); real ONNX Runtime errors come back as typed codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePreprocessing } from '../../../models/ops/index.ts';
import { AF_SCREENER_DATASET, AF_SCREENER_SPEC } from '../../../models/reference/af-screener/spec.ts';
import type { ReferenceModelSpec } from '../../../models/reference/build.ts';
import { FALL_DETECTOR_DATASET, FALL_DETECTOR_SPEC } from '../../../models/reference/fall-detector/spec.ts';
import { assignSplit } from '../../../models/training/index.ts';
import type { BackendChoice, ModelSession } from '../../../runtime/inference/index.ts';
import { InferenceError, selectBackend } from '../../../runtime/inference/index.ts';
import { afWindows, fallWindows } from '../../../simulator/index.ts';
import { referenceArtifacts, type ReferenceName } from './helpers/reference.ts';

let node: BackendChoice;
let wasm: BackendChoice;
const sessions: ModelSession[] = [];

beforeAll(async () => {
  node = await selectBackend('node');
  wasm = await selectBackend('wasm');
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
});

/** Indices of the examples `vigil models build` put in the test split. */
function testIndices(spec: ReferenceModelSpec, count: number, id: (i: number) => string): number[] {
  return Array.from({ length: count }, (_, i) => i).filter(
    (i) => assignSplit(spec.splitKey, id(i), spec.splitFractions) === 'test',
  );
}

function testSetFeatures(name: ReferenceName): { rows: number; x: Float32Array; width: number } {
  const spec = name === 'fall-detector' ? FALL_DETECTOR_SPEC : AF_SCREENER_SPEC;
  const plan = compilePreprocessing(
    spec.preprocessing,
    {
      rateHz: spec.input.rateHz,
      channels: spec.input.channels,
      length: spec.input.windowS * spec.input.rateHz,
    },
    spec.featuresFrom,
  );
  const channels: Float64Array[][] = [];
  if (name === 'fall-detector') {
    const d = FALL_DETECTOR_DATASET;
    for (const i of testIndices(spec, d.count, (k) => `fall-${String(k).padStart(6, '0')}`)) {
      const [w] = fallWindows({ ...d, startIndex: i, count: 1 });
      if (w) channels.push([Float64Array.from(w.x), Float64Array.from(w.y), Float64Array.from(w.z)]);
    }
  } else {
    const d = AF_SCREENER_DATASET;
    for (const i of testIndices(spec, d.count, (k) => `af-ecg-${String(k).padStart(6, '0')}`)) {
      const [w] = afWindows({ ...d, startIndex: i, count: 1 });
      if (w) channels.push([Float64Array.from(w.samples)]);
    }
  }
  const width = plan.featureNames.length;
  const x = new Float32Array(channels.length * width);
  channels.forEach((c, row) => {
    x.set(plan.run({ kind: 'signal', rateHz: spec.input.rateHz, channels: c }).values, row * width);
  });
  return { rows: channels.length, x, width };
}

describe('inference backends on the reference models', () => {
  it.each([
    ['fall-detector', 848],
    ['af-screener', 309],
  ] as const)(
    '%s: onnxruntime-node and onnxruntime-web agree within 1e-5 on the %i test-set windows',
    async (name, expected) => {
      const artifacts = referenceArtifacts(name);
      const { rows, x, width } = testSetFeatures(name);
      expect(rows).toBe(expected); // the evidence's test-set size: the split was regenerated faithfully
      const io = {
        inputName: artifacts.manifest.model.inputName,
        outputName: artifacts.manifest.model.outputName,
        featureCount: width,
      };
      const a = await node.backend.createSession(artifacts.modelBytes, io);
      const b = await wasm.backend.createSession(artifacts.modelBytes, io);
      sessions.push(a, b);
      expect([a.backend, b.backend]).toEqual(['node', 'wasm']);
      const [pa, pb] = await Promise.all([a.run(x, rows), b.run(x, rows)]);
      let worst = 0;
      for (let i = 0; i < rows; i += 1)
        worst = Math.max(worst, Math.abs((pa[i] as number) - (pb[i] as number)));
      expect(worst).toBeLessThanOrEqual(1e-5);
      // Batch 1 gives the same scores as the batch (rows are independent).
      const one = await b.run(x.slice(0, width), 1);
      expect(Math.abs((one[0] as number) - (pa[0] as number))).toBeLessThanOrEqual(1e-5);
      process.stdout.write(
        `${name}: ${rows} windows, largest node/wasm difference ${worst.toExponential(2)}\n`,
      );
    },
    60_000,
  );

  it('refuses a corrupt model and a model whose interface differs from the manifest, with codes', async () => {
    const artifacts = referenceArtifacts('fall-detector');
    const io = { inputName: 'features', outputName: 'p_fall', featureCount: 16 };
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (error) {
        return error instanceof InferenceError ? error.code : 'other';
      }
      return 'none';
    };
    const garbage = artifacts.modelBytes.slice(0, 100);
    for (const choice of [node, wasm]) {
      expect(await code(choice.backend.createSession(garbage, io))).toBe('MODEL_CORRUPT');
      expect(await code(choice.backend.createSession(artifacts.modelBytes, { ...io, inputName: 'x' }))).toBe(
        'MODEL_SIGNATURE',
      );
      expect(
        await code(choice.backend.createSession(artifacts.modelBytes, { ...io, featureCount: 12 })),
      ).toBe('MODEL_SIGNATURE');
    }
  });
});
