// A real runtime for bridge tests and the bridge bench: Pipeline + ModelRunner + MicroBatcher over a
// real onnxruntime-node session of a small MLP built with the project's ONNX writer, behind
// DeviceRuntime. The manifest is a test fixture (not a reference model): an ECG family reading
// 250 Hz, 2 s windows every 1 s, and optionally a 3-axis accelerometer family at 50 Hz.
import { buildMlpClassifier } from '../../../../models/onnx/index.ts';
import type { InputSpec, Manifest, SensorKind } from '../../../../models/format/manifest.ts';
import type { AlertEvent } from '../../../../runtime/api.ts';
import { DeviceRuntime } from '../../../../runtime/device.ts';
import { MicroBatcher } from '../../../../runtime/inference/batcher.ts';
import { selectBackend, type ModelSession } from '../../../../runtime/inference/index.ts';
import {
  ModelRunner,
  Pipeline,
  type FeatureExtractor,
  type PipelineEvent,
  type Window,
} from '../../../../runtime/pipeline/index.ts';
import { RUNTIME_VERSION } from '../../../../runtime/version.ts';

export const ECG_RATE_HZ = 250;
export const ACCEL_RATE_HZ = 50;

const FEATURES = ['sd', 'peak_to_peak', 'mean_abs_diff', 'mean'] as const;

/** Simple per-window statistics of channel 0 (enough to drive a real model; not a clinical feature set). */
export const statsExtractor: FeatureExtractor = {
  names: FEATURES,
  extract(window: Window) {
    const x = window.channels[0] as Float64Array;
    let n = 0;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of x) {
      if (Number.isNaN(v)) continue;
      n += 1;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (n < 2) return { kind: 'invalid', detail: 'fewer than 2 samples' };
    const mean = sum / n;
    let squares = 0;
    let absDiff = 0;
    let pairs = 0;
    for (let i = 0; i < x.length; i += 1) {
      const v = x[i] as number;
      if (Number.isNaN(v)) continue;
      squares += (v - mean) ** 2;
      const next = x[i + 1];
      if (next !== undefined && !Number.isNaN(next)) {
        absDiff += Math.abs(next - v);
        pairs += 1;
      }
    }
    const values = Float64Array.from([
      Math.sqrt(squares / (n - 1)),
      max - min,
      pairs > 0 ? absDiff / pairs : 0,
      mean,
    ]);
    return {
      kind: 'features',
      values,
      named: new Map(FEATURES.map((name, i) => [name, values[i] as number])),
    };
  },
};

/** Logistic regression on the SD: positive when the SD is well above `sdCenter` (amplitude drives the score). */
export function buildTestModel(sdCenter: number): Uint8Array {
  return buildMlpClassifier({
    inputName: 'features',
    outputName: 'score',
    featureCount: FEATURES.length,
    center: Float32Array.from([sdCenter, 0, 0, 0]),
    scale: Float32Array.from([sdCenter / 4, 1, 1, 1]),
    layers: [{ weights: Float32Array.from([3, 0, 0, 0]), bias: Float32Array.from([0]) }],
    activation: 'tanh',
    output: 'sigmoid',
    docString: 'firmware-bridge test model: logistic regression on window SD',
    metadata: { purpose: 'test' },
  });
}

function manifest(family: string, sensor: SensorKind, input: InputSpec): Manifest {
  return {
    formatVersion: 1,
    bundleId: `${family}@1.0.0`,
    modelFamily: family,
    version: '1.0.0',
    sequence: 1,
    createdAtMs: 0,
    expiresAtMs: Number.MAX_SAFE_INTEGER,
    deviceClasses: [{ vendorId: 'vigil', classId: 'test' }],
    runtime: { minVersion: '0.0.0', maxVersionExclusive: null },
    precursorSequence: null,
    intendedUse: 'bridge tests only',
    input,
    preprocessing: [],
    model: {
      file: 'model.onnx',
      opset: 17,
      inputName: 'features',
      outputName: 'score',
      featuresFrom: 'features',
      featureNames: [...FEATURES],
      profileFile: 'profile.cbor',
      evidenceFile: 'evidence.cbor',
    },
    output: {
      scoreMeaning: 'p(high amplitude)',
      positive: { name: 'high', meaning: 'high amplitude' },
      negative: { name: 'normal', meaning: 'normal amplitude' },
    },
    thresholds: { version: 't1', operatingThreshold: 0.6, releaseThreshold: 0.5, indeterminateLow: 0.4 },
    postprocessing: { version: 'p1', consecutiveWindows: 2, refractoryMs: 5_000 },
    quality: {
      version: 'q1',
      maxMissingFraction: 0.5,
      maxClippedFraction: 0.1,
      flatlinePeakToPeak: sensor === 'ecg' ? 0.05 : 0.001,
      maxRateJitterRel: 0.5,
      rejectFlags: ['lead-off'],
      sqi: [],
      motionGateG: null,
    },
    ood: { version: 'o1', maxFeaturesOutsideSupport: 1, maxDistance: 1e9 },
    fallback: { kind: 'suppress', version: 'f1' },
    monitoring: {
      version: 'm1',
      reportIntervalS: 3600,
      statistics: ['psi'],
      alpha: 0.01,
      onDrift: 'report',
      changeDetection: {
        delta: 0.01,
        lambda: 10,
        direction: 'both',
        minSamples: 30,
        falseAlarmsPer10kWindows: 1,
      },
    },
    rollout: {
      shadowMinWindows: 10,
      shadowMinAgreement: 0.9,
      maxFallbackRateIncrease: 0.1,
      maxAlertRateIncreasePer1k: 1,
      autoPromote: false,
      probation: {
        windows: 10,
        maxInferenceErrors: 0,
        maxDeadlineMisses: 0,
        maxFallbackRate: 0.5,
        maxLatencyP99Ms: 100,
      },
    },
    provenance: {
      sourceCommit: 'test',
      trainingRunId: 'test',
      datasetSnapshotSha256: '0'.repeat(64),
      splitKey: 'test',
      dependencyLockSha256: '0'.repeat(64),
      seed: 1,
      hyperparameters: {},
    },
    evidence: {
      testSet: { n: 0, sensitivity: 0, specificity: 0, rocAuc: 0, ece: 0 },
      perCohort: [],
      acceptance: [],
      allPassed: true,
    },
    files: [],
  };
}

export interface RealRuntimeOptions {
  readonly deviceId?: string;
  readonly windowS?: number;
  readonly hopS?: number;
  readonly accel?: boolean;
  readonly batchMaxWaitMs?: number;
  readonly inferenceDeadlineMs?: number;
  readonly maxStreams?: number;
}

export interface RealRuntime {
  readonly runtime: DeviceRuntime;
  readonly pipeline: Pipeline;
  readonly internalErrors: unknown[];
  close(): Promise<void>;
}

export async function createRealRuntime(options: RealRuntimeOptions = {}): Promise<RealRuntime> {
  const monoNow = (): number => performance.now();
  const internalErrors: unknown[] = [];
  let runtime: DeviceRuntime | null = null;
  const pipeline = new Pipeline(
    {
      maxStreams: options.maxStreams ?? 256,
      monoNow,
      onInternalError: (error) => internalErrors.push(error),
    },
    {
      onEvent: (event: PipelineEvent) => {
        if (event.kind === 'alert') runtime?.publishAlert(event satisfies AlertEvent);
      },
    },
  );
  const choice = await selectBackend('node');
  const sessions: ModelSession[] = [];
  const families: { family: string; sensor: SensorKind; input: InputSpec; sdCenter: number }[] = [
    {
      family: 'ecg-test',
      sensor: 'ecg',
      sdCenter: 0.5,
      input: {
        sensor: 'ecg',
        channels: [{ name: 'ecg', unit: 'mV', min: -10, max: 10 }],
        sampleRateHz: ECG_RATE_HZ,
        rateToleranceRel: 0.02,
        windowS: options.windowS ?? 2,
        hopS: options.hopS ?? 1,
      },
    },
  ];
  if (options.accel === true) {
    families.push({
      family: 'accel-test',
      sensor: 'accel',
      sdCenter: 0.5,
      input: {
        sensor: 'accel',
        channels: ['x', 'y', 'z'].map((axis) => ({ name: axis, unit: 'g', min: -16, max: 16 })),
        sampleRateHz: ACCEL_RATE_HZ,
        rateToleranceRel: 0.02,
        windowS: options.windowS ?? 2,
        hopS: options.hopS ?? 1,
      },
    });
  }
  for (const f of families) {
    const session = await choice.backend.createSession(buildTestModel(f.sdCenter), {
      inputName: 'features',
      outputName: 'score',
      featureCount: FEATURES.length,
    });
    sessions.push(session);
    const batcher = new MicroBatcher(session, { maxBatch: 64, maxWaitMs: options.batchMaxWaitMs ?? 1 });
    const runner = new ModelRunner(
      {
        manifest: manifest(f.family, f.sensor, f.input),
        manifestSha256: 'a'.repeat(64),
        backend: session.backend,
        extractor: statsExtractor,
        reference: null,
        batcher,
      },
      {
        runtimeVersion: RUNTIME_VERSION,
        inferenceDeadlineMs: options.inferenceDeadlineMs ?? 2_000,
        monoNow,
        shadow: false,
      },
      pipeline.observer,
    );
    pipeline.setFamily(f.family, { active: runner, shadow: null });
  }
  runtime = new DeviceRuntime(pipeline, {
    deviceId: options.deviceId ?? 'gateway-test',
    labelJoinCapacity: 10_000,
    frozen: () => false,
  });
  return {
    runtime,
    pipeline,
    internalErrors,
    close: async () => {
      await pipeline.drain();
      await Promise.all(sessions.map((s) => s.close()));
    },
  };
}

/**
 * A periodic ECG-like waveform (mV): Gaussian P, Q, R, S and T waves at `heartRateBpm`, amplitude
 * scaled by `gain`. Deterministic in the sample counter, so any frame can be regenerated.
 */
export function ecgSample(counter: number, rateHz: number, gain = 1, heartRateBpm = 72): number {
  const period = 60 / heartRateBpm;
  const t = ((counter / rateHz) % period) / period; // phase in [0, 1)
  const wave = (center: number, width: number, height: number): number =>
    height * Math.exp(-(((t - center) / width) ** 2) / 2);
  return (
    gain *
    (wave(0.2, 0.025, 0.12) +
      wave(0.37, 0.008, -0.15) +
      wave(0.4, 0.01, 1.0) +
      wave(0.43, 0.008, -0.25) +
      wave(0.7, 0.04, 0.3))
  );
}

export function ecgChunk(firstCounter: number, count: number, rateHz = ECG_RATE_HZ, gain = 1): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 1) out[i] = ecgSample(firstCounter + i, rateHz, gain);
  return out;
}
