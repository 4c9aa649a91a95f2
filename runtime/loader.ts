// Turns a verified bundle's contents into a LoadedModel the pipeline runs: one ONNX Runtime session
// (created once, warmed up, reused), its micro-batcher, the manifest's preprocessing plan, the
// signal-quality indices its quality policy names, and the reference the OOD check compares with.
import type { Manifest, QualityPolicy } from '../models/format/manifest.ts';
import { compilePreprocessing, sqiSteps, type CompiledPlan, type OpValue } from '../models/ops/index.ts';
import type { ReferenceProfile } from '../models/profile/index.ts';
import type { InferenceBackend, ModelSession } from './inference/backend.ts';
import { MicroBatcher, REAL_BATCHER_CLOCK, type BatcherClock } from './inference/batcher.ts';
import type { FeatureExtractor, FeatureOutcome, FeatureReference } from './pipeline/features.ts';
import type { QualityVerdict } from './pipeline/quality.ts';
import type { LoadedModel } from './pipeline/runner.ts';
import type { Window } from './pipeline/types.ts';

export interface ModelArtifacts {
  readonly manifest: Manifest;
  readonly manifestSha256: string;
  readonly modelBytes: Uint8Array;
  readonly profile: ReferenceProfile | null;
}

export interface LoadOptions {
  readonly maxBatch: number;
  readonly batchMaxWaitMs: number;
  readonly batcherClock?: BatcherClock;
}

/** A loaded model plus what must be released when it is unloaded. */
export interface ModelHandle {
  readonly model: LoadedModel;
  readonly session: ModelSession;
  unload(): Promise<void>;
}

/** More than this share of NaN features means preprocessing could not describe the window. */
const MAX_NAN_FEATURE_FRACTION = 0.5;

function planInput(manifest: Manifest): { rateHz: number; channels: number; length: number } {
  return {
    rateHz: manifest.input.sampleRateHz,
    channels: manifest.input.channels.length,
    length: Math.round(manifest.input.windowS * manifest.input.sampleRateHz),
  };
}

function signalOf(window: Window): OpValue {
  return { kind: 'signal', rateHz: window.rateHz, channels: window.channels };
}

export function featureExtractor(manifest: Manifest): FeatureExtractor {
  const plan: CompiledPlan = compilePreprocessing(
    manifest.preprocessing,
    planInput(manifest),
    manifest.model.featuresFrom,
    {
      expectedFeatureNames: manifest.model.featureNames,
    },
  );
  const names = plan.featureNames;
  return {
    names,
    extract(window: Window): FeatureOutcome {
      const values = plan.run(signalOf(window)).values;
      let nan = 0;
      for (let i = 0; i < values.length; i += 1) if (Number.isNaN(values[i])) nan += 1;
      if (nan / Math.max(1, names.length) > MAX_NAN_FEATURE_FRACTION) {
        return { kind: 'invalid', detail: `${nan} of ${names.length} features not computable` };
      }
      // The named view is only needed by a fallback rule: built on first use, not per window.
      let named: Map<string, number> | undefined;
      return {
        kind: 'features',
        values,
        get named(): ReadonlyMap<string, number> {
          named ??= new Map(names.map((name, i) => [name, values[i] as number]));
          return named;
        },
      };
    },
  };
}

export function featureReference(
  profile: ReferenceProfile,
  featureNames: readonly string[],
): FeatureReference {
  const byName = new Map(profile.features.map((f) => [f.name, f]));
  const column = (pick: (name: string) => number) => Float64Array.from(featureNames, pick);
  const get = (name: string) => {
    const entry = byName.get(name);
    if (!entry) throw new Error(`the reference profile has no feature ${name}`);
    return entry;
  };
  return {
    names: featureNames,
    min: column((n) => get(n).min),
    max: column((n) => get(n).max),
    mean: column((n) => get(n).mean),
    sd: column((n) => get(n).sd),
  };
}

/**
 * Signal-quality indices named by the policy (ECG/PPG ones; `activity_level_g` gates PPG from the
 * accelerometer stream and is handled by the pipeline). A NaN index fails: it could not be judged.
 */
export function sqiCheck(
  manifest: Manifest,
  policy: QualityPolicy,
): ((window: Window) => QualityVerdict) | undefined {
  const bounds = policy.sqi.filter((b) => b.name !== 'activity_level_g');
  if (bounds.length === 0) return undefined;
  const steps = sqiSteps(
    bounds.map((b) => b.name),
    manifest.input.channels.length > 1 ? 0 : null,
  );
  const plan = compilePreprocessing(steps, planInput(manifest), 'sqi');
  const index = new Map(plan.featureNames.map((name, i) => [name, i]));
  return (window) => {
    const values = plan.run(signalOf(window)).values;
    for (const bound of bounds) {
      const value = values[index.get(bound.name) ?? -1] ?? Number.NaN;
      const low = bound.min !== null && !(value >= bound.min);
      const high = bound.max !== null && !(value <= bound.max);
      if (Number.isNaN(value) || low || high) {
        return {
          kind: 'fail',
          reason: 'QUALITY_SQI',
          detail: `${bound.name} = ${Number.isNaN(value) ? 'not computable' : value.toPrecision(3)} outside [${bound.min ?? '-∞'}, ${bound.max ?? '∞'}]`,
        };
      }
    }
    return { kind: 'pass' };
  };
}

export async function loadModel(
  artifacts: ModelArtifacts,
  backend: InferenceBackend,
  options: LoadOptions,
): Promise<ModelHandle> {
  const { manifest } = artifacts;
  const extractor = featureExtractor(manifest);
  const reference = artifacts.profile ? featureReference(artifacts.profile, extractor.names) : null;
  const extraQuality = sqiCheck(manifest, manifest.quality);
  const session = await backend.createSession(artifacts.modelBytes, {
    inputName: manifest.model.inputName,
    outputName: manifest.model.outputName,
    featureCount: extractor.names.length,
  });
  const batcher = new MicroBatcher(
    session,
    { maxBatch: options.maxBatch, maxWaitMs: options.batchMaxWaitMs },
    options.batcherClock ?? REAL_BATCHER_CLOCK,
  );
  const model: LoadedModel = {
    manifest,
    manifestSha256: artifacts.manifestSha256,
    backend: backend.kind,
    extractor,
    reference,
    batcher,
    ...(extraQuality ? { extraQuality } : {}),
  };
  return { model, session, unload: () => session.close() };
}
