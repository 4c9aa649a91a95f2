// Assembles a device runtime from the artifacts of verified bundles: backend selection, one loaded
// model per family, the pipeline, and the DeviceRuntime the bridge talks to. The slot-aware device
// daemon (runtime/daemon.ts) loads installed bundles through `loadStagedModel`; `assembleRuntime`
// serves fixed artifacts (demos, benchmarks, tests), every family with its active model.
import type { FileEntry, Manifest } from '../models/format/manifest.ts';
import { parseProfile, type ReferenceProfile } from '../models/profile/index.ts';
import type { RuntimeConfig } from './config.ts';
import { DeviceRuntime } from './device.ts';
import type { BackendChoice, InferenceBackend } from './inference/backend.ts';
import { selectBackend } from './inference/select.ts';
import { loadModel, type ModelArtifacts, type ModelHandle } from './loader.ts';
import type { PipelineObserver } from './pipeline/observer.ts';
import { Pipeline } from './pipeline/pipeline.ts';
import { ModelRunner } from './pipeline/runner.ts';
import { RUNTIME_VERSION } from './version.ts';
import { readStagedFile } from './verify/index.ts';

export interface AssembledRuntime {
  readonly runtime: DeviceRuntime;
  readonly pipeline: Pipeline;
  readonly backend: BackendChoice;
  readonly handles: readonly ModelHandle[];
  close(): Promise<void>;
}

export interface AssembleOptions {
  readonly config: RuntimeConfig;
  readonly observer?: PipelineObserver;
  readonly monoNow?: () => number;
  /** Reuse an already chosen backend (tests, benchmarks); otherwise chosen per config. */
  readonly backend?: BackendChoice;
  readonly onInternalError?: (error: unknown) => void;
}

export async function assembleRuntime(
  artifacts: readonly ModelArtifacts[],
  options: AssembleOptions,
): Promise<AssembledRuntime> {
  const monoNow = options.monoNow ?? (() => performance.now());
  const backend = options.backend ?? (await selectBackend(options.config.backend));
  const observer: PipelineObserver = options.observer ?? {};
  const pipeline = new Pipeline(
    {
      maxStreams: options.config.maxStreams,
      monoNow,
      onInternalError: (error) => options.onInternalError?.(error),
    },
    observer,
  );
  const handles: ModelHandle[] = [];
  try {
    for (const artifact of artifacts) {
      const handle = await loadModel(artifact, backend.backend, {
        maxBatch: options.config.maxBatch,
        batchMaxWaitMs: options.config.batchMaxWaitMs,
      });
      handles.push(handle);
      const runner = new ModelRunner(
        handle.model,
        {
          runtimeVersion: RUNTIME_VERSION,
          inferenceDeadlineMs: options.config.inferenceDeadlineMs,
          monoNow,
          shadow: false,
        },
        observer,
      );
      pipeline.setFamily(artifact.manifest.modelFamily, { active: runner, shadow: null });
    }
  } catch (error) {
    await Promise.all(handles.map((h) => h.unload()));
    throw error;
  }
  const runtime = new DeviceRuntime(pipeline, {
    deviceId: options.config.deviceId,
    labelJoinCapacity: 100_000,
    frozen: () => false,
  });
  return {
    runtime,
    pipeline,
    backend,
    handles,
    close: async () => {
      await pipeline.drain();
      await Promise.all(handles.map((h) => h.unload()));
    },
  };
}

function fileOf(manifest: Manifest, file: string): FileEntry {
  const entry = manifest.files.find((f) => f.path === file);
  if (!entry) throw new Error(`the manifest does not list ${file}`);
  return entry;
}

/**
 * Reads a verified, extracted bundle's model and profile, re-checking each file's size and digest
 * as it is read (no time-of-check/time-of-use gap between verification and loading).
 */
export async function artifactsFromStagedBundle(
  dir: string,
  manifest: Manifest,
  manifestSha256: string,
): Promise<ModelArtifacts> {
  const modelBytes = await readStagedFile(dir, fileOf(manifest, manifest.model.file));
  const profileBytes = await readStagedFile(dir, fileOf(manifest, manifest.model.profileFile));
  const profile: ReferenceProfile = parseProfile(
    JSON.parse(new TextDecoder().decode(profileBytes)) as unknown,
  );
  return { manifest, manifestSha256, modelBytes, profile };
}

/**
 * Loads an installed bundle's model for the pipeline, re-hashing every file it reads (the bytes handed
 * to the inference backend are exactly the ones checked against the signed manifest).
 */
export async function loadStagedModel(
  bundle: { readonly dir: string; readonly manifest: Manifest; readonly manifestSha256: string },
  backend: InferenceBackend,
  options: { readonly maxBatch: number; readonly batchMaxWaitMs: number },
): Promise<ModelHandle> {
  const artifacts = await artifactsFromStagedBundle(bundle.dir, bundle.manifest, bundle.manifestSha256);
  return loadModel(artifacts, backend, options);
}
