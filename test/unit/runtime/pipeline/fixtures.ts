// Test doubles for runner and pipeline tests: manifests from the reference specs (validated by
// manifestFromSpec), a session that scores a row by its first feature, an extractor whose first
// feature is the window's channel-0 mean, and windows built by hand.
import { manifestFromSpec } from '../../../../models/format/index.ts';
import type { Manifest } from '../../../../models/format/manifest.ts';
import type { ModelSession } from '../../../../runtime/inference/backend.ts';
import { MicroBatcher, type BatcherClock } from '../../../../runtime/inference/batcher.ts';
import { InferenceError } from '../../../../runtime/inference/errors.ts';
import type { FeatureExtractor, LoadedModel, Window } from '../../../../runtime/pipeline/index.ts';
import { referenceSpec, type ReferenceName } from '../../../integration/pipeline/helpers/reference.ts';

export const SHA = 'ab'.repeat(32);

export function manifestOf(
  name: ReferenceName,
  edit: (spec: Record<string, unknown>) => void = () => undefined,
): Manifest {
  const spec = referenceSpec(name);
  edit(spec);
  const file = (path: string) => ({ path, size: 1, sha256: SHA });
  return manifestFromSpec(spec, {
    createdAtMs: 0,
    files: [file('model.onnx'), file('profile.json'), file('evidence.json')],
  });
}

export type SessionMode = 'ok' | 'fail' | 'hang' | 'nan' | 'hold';

/** Scores each row by its first feature (clamped to [0, 1]); the mode can be switched at any time. */
export function fakeSession(featureCount: number) {
  const held: (() => void)[] = [];
  const state = {
    mode: 'ok' as SessionMode,
    runs: 0,
    rows: 0,
    /** Answers the runs held in mode `hold` (scored as in mode `ok`). */
    release(): void {
      for (const answer of held.splice(0)) answer();
    },
  };
  const session: ModelSession = {
    backend: 'node',
    io: { inputName: 'features', outputName: 'p', featureCount },
    run(features, batchSize) {
      state.runs += 1;
      state.rows += batchSize;
      if (state.mode === 'fail') return Promise.reject(new InferenceError('RUN_FAILED', 'kernel failed'));
      if (state.mode === 'hang') return new Promise<Float32Array>(() => undefined);
      const out = new Float32Array(batchSize);
      if (state.mode === 'hold') {
        for (let i = 0; i < batchSize; i += 1)
          out[i] = Math.min(1, Math.max(0, features[i * featureCount] ?? 0));
        return new Promise<Float32Array>((resolve) =>
          held.push(() => {
            resolve(out);
          }),
        );
      }
      for (let i = 0; i < batchSize; i += 1) {
        out[i] =
          state.mode === 'nan' ? Number.NaN : Math.min(1, Math.max(0, features[i * featureCount] ?? 0));
      }
      return Promise.resolve(out);
    },
    close: () => Promise.resolve(),
  };
  return { session, state };
}

/** Feature 0 = mean of channel 0 (NaN ignored); the rest are named features set to `rest`. */
export function meanExtractor(names: readonly string[], rest = 0): FeatureExtractor {
  return {
    names,
    extract(window) {
      const x = window.channels[0] ?? new Float64Array(0);
      let sum = 0;
      let n = 0;
      for (const v of x) {
        if (Number.isNaN(v)) continue;
        sum += v;
        n += 1;
      }
      if (n === 0) return { kind: 'invalid', detail: 'no samples' };
      const values = Float64Array.from(names, (_, i) => (i === 0 ? sum / n : rest));
      return {
        kind: 'features',
        values,
        named: new Map(names.map((name, i) => [name, values[i] as number])),
      };
    },
  };
}

export function loadedModel(
  manifest: Manifest,
  options: { clock?: BatcherClock; extractor?: FeatureExtractor } = {},
): { model: LoadedModel; state: ReturnType<typeof fakeSession>['state'] } {
  const names = manifest.model.featureNames;
  const { session, state } = fakeSession(names.length);
  const batcher = new MicroBatcher(session, { maxBatch: 16, maxWaitMs: 0 }, options.clock);
  return {
    model: {
      manifest,
      manifestSha256: SHA,
      backend: 'node',
      extractor: options.extractor ?? meanExtractor(names),
      reference: null,
      batcher,
    },
    state,
  };
}

/**
 * A window of `n` samples per channel whose channel 0 holds `level` plus a small deterministic
 * wobble (so that it is neither flat nor clipped), other channels a wobble around `others`.
 */
export function windowOf(
  manifest: Manifest,
  opts: {
    streamId?: string;
    index?: number;
    level?: number;
    others?: number;
    endMs?: number;
    completedAtMonoMs?: number;
    flags?: number;
  } = {},
): Window {
  const input = manifest.input;
  const n = Math.round(input.windowS * input.sampleRateHz);
  const index = opts.index ?? 0;
  const durationMs = input.windowS * 1000;
  const endMs = opts.endMs ?? 1_000_000 + index * input.hopS * 1000 + durationMs;
  const channels = input.channels.map((_, c) =>
    Float64Array.from(
      { length: n },
      (_, i) => (c === 0 ? (opts.level ?? 0.1) : (opts.others ?? 0.2)) + 0.05 * Math.sin(i * 0.7 + c),
    ),
  );
  return {
    deviceId: 'dev-1',
    streamId: opts.streamId ?? 's1',
    sensor: input.sensor,
    cohort: 'age=65+',
    index,
    firstCounter: index * Math.round(input.hopS * input.sampleRateHz),
    lastCounter: index * Math.round(input.hopS * input.sampleRateHz) + n - 1,
    startMs: endMs - durationMs,
    endMs,
    rateHz: input.sampleRateHz,
    channels,
    flagsUnion: opts.flags ?? 0,
    flaggedSamples: opts.flags ? 1 : 0,
    missingSamples: 0,
    rateJitterRel: 0,
    completedAtMonoMs: opts.completedAtMonoMs ?? performance.now(),
  };
}
