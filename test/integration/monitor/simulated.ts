// Simulated fall-detector windows through the real chain: simulator → the bundle's preprocessing plan
// (models/ops) → the shipped ONNX model (onnxruntime-node). Shared by the drift tests and the bench.
import fs from 'node:fs';
import path from 'node:path';
import { fallWindows, type PopulationShift } from '../../../simulator/index.ts';
import { compilePreprocessing } from '../../../models/ops/index.ts';
import { scoreWithOnnxRuntime } from '../../../models/onnx/index.ts';
import type { MonitoredManifest } from '../../../monitor/device/index.ts';

const DIR = path.join(import.meta.dirname, '../../../models/reference/fall-detector');

export const FALL_SPEC = JSON.parse(
  fs.readFileSync(path.join(DIR, 'bundle.json'), 'utf8'),
) as MonitoredManifest & {
  readonly preprocessing: Parameters<typeof compilePreprocessing>[0];
  readonly model: {
    readonly featuresFrom: string;
    readonly inputName: string;
    readonly outputName: string;
    readonly featureNames: readonly string[];
  };
};

const plan = compilePreprocessing(
  FALL_SPEC.preprocessing,
  { rateHz: 50, channels: 3, length: 200 },
  FALL_SPEC.model.featuresFrom,
);
const onnx = new Uint8Array(fs.readFileSync(path.join(DIR, 'model.onnx')));

export interface SimulatedWindows {
  readonly count: number;
  /** Row-major [count, 16] features. */
  readonly x: Float64Array;
  readonly scores: Float32Array;
  readonly labels: Uint8Array;
}

/** Windows as the reference dataset draws them (40 % falls, 30 % near-falls among the rest). */
export async function fallFeatures(options: {
  readonly seed: number;
  readonly count: number;
  readonly shift?: PopulationShift;
  readonly startIndex?: number;
}): Promise<SimulatedWindows> {
  const windows = fallWindows({
    seed: options.seed,
    count: options.count,
    windowS: 4,
    rateHz: 50,
    positiveFraction: 0.4,
    nearFallFraction: 0.3,
    ...(options.shift ? { shift: options.shift } : {}),
    ...(options.startIndex !== undefined ? { startIndex: options.startIndex } : {}),
  });
  const width = plan.featureNames.length;
  const x = new Float64Array(options.count * width);
  windows.forEach((w, i) => {
    const features = plan.run({
      kind: 'signal',
      rateHz: 50,
      channels: [Float64Array.from(w.x), Float64Array.from(w.y), Float64Array.from(w.z)],
    });
    x.set(features.values, i * width);
  });
  const scores = await scoreWithOnnxRuntime(onnx, x, {
    inputName: FALL_SPEC.model.inputName,
    outputName: FALL_SPEC.model.outputName,
    featureCount: width,
  });
  return { count: options.count, x, scores, labels: Uint8Array.from(windows, (w) => w.label) };
}
