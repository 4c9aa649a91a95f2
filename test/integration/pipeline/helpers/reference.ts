// The reference models as a runtime loads them, without keys: bundle.json → manifest (validated by
// manifestFromSpec, with the real files' sizes and digests), model bytes, reference profile. Also a
// pipeline with real ONNX Runtime sessions for integration tests, end-to-end tests and the bench.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeManifest, manifestFromSpec } from '../../../../models/format/index.ts';
import type { Manifest } from '../../../../models/format/manifest.ts';
import { parseProfile } from '../../../../models/profile/index.ts';
import type { BackendChoice } from '../../../../runtime/inference/backend.ts';
import { selectBackend } from '../../../../runtime/inference/select.ts';
import { loadModel, type ModelArtifacts, type ModelHandle } from '../../../../runtime/loader.ts';
import {
  ModelRunner,
  Pipeline,
  type PipelineEvent,
  type PipelineOptions,
  type WindowResult,
} from '../../../../runtime/pipeline/index.ts';
import { RUNTIME_VERSION } from '../../../../runtime/version.ts';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export type ReferenceName = 'fall-detector' | 'af-screener';

export function referenceDir(name: ReferenceName): string {
  return path.join(ROOT, 'models', 'reference', name);
}

/** The bundle.json spec of a reference model (a fresh object each call). */
export function referenceSpec(name: ReferenceName): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(referenceDir(name), 'bundle.json'), 'utf8')) as Record<
    string,
    unknown
  >;
}

function entry(file: string, bytes: Uint8Array) {
  return { path: file, size: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
}

/**
 * A reference model's artifacts. `edit` may change the spec (e.g. a policy section) before it is
 * validated, to test what a different approved manifest would do.
 */
export function referenceArtifacts(
  name: ReferenceName,
  edit: (spec: Record<string, unknown>) => void = () => undefined,
): ModelArtifacts {
  const dir = referenceDir(name);
  const spec = referenceSpec(name);
  edit(spec);
  const modelBytes = new Uint8Array(fs.readFileSync(path.join(dir, 'model.onnx')));
  const profileBytes = new Uint8Array(fs.readFileSync(path.join(dir, 'profile.json')));
  const evidenceBytes = new Uint8Array(fs.readFileSync(path.join(dir, 'evidence.json')));
  const manifest: Manifest = manifestFromSpec(spec, {
    createdAtMs: 1_767_225_600_000,
    files: [
      entry('model.onnx', modelBytes),
      entry('profile.json', profileBytes),
      entry('evidence.json', evidenceBytes),
    ],
  });
  const manifestSha256 = crypto.createHash('sha256').update(encodeManifest(manifest)).digest('hex');
  const profile = parseProfile(JSON.parse(new TextDecoder().decode(profileBytes)) as unknown);
  return { manifest, manifestSha256, modelBytes, profile };
}

export interface ReferencePipeline {
  readonly pipeline: Pipeline;
  readonly handles: readonly ModelHandle[];
  readonly results: WindowResult[];
  readonly events: PipelineEvent[];
  /** Windows whose features reached inference (the observer sees them with their features). */
  readonly reachedModel: Set<string>;
  readonly internalErrors: unknown[];
  close(): Promise<void>;
}

export interface ReferencePipelineOptions {
  readonly backend?: BackendChoice;
  readonly maxBatch?: number;
  readonly batchMaxWaitMs?: number;
  readonly inferenceDeadlineMs?: number;
  readonly maxStreams?: number;
  readonly keepResults?: boolean;
  readonly pipeline?: Partial<PipelineOptions>;
}

/** A pipeline serving the given artifacts with real ONNX Runtime sessions. */
export async function referencePipeline(
  artifacts: readonly ModelArtifacts[],
  options: ReferencePipelineOptions = {},
): Promise<ReferencePipeline> {
  const monoNow = () => performance.now();
  const results: WindowResult[] = [];
  const events: PipelineEvent[] = [];
  const reachedModel = new Set<string>();
  const internalErrors: unknown[] = [];
  const pipeline = new Pipeline(
    {
      maxStreams: options.maxStreams ?? 10_000,
      monoNow,
      onInternalError: (error: unknown) => internalErrors.push(error),
      ...options.pipeline,
    },
    {
      onEvent: (event) => events.push(event),
      onResult: (result) => {
        const s = result.status;
        if (s.kind === 'ok' || s.kind === 'indeterminate') reachedModel.add(result.resultId);
        if (s.kind === 'fallback' && (s.reason === 'INFERENCE_ERROR' || s.reason === 'DEADLINE_MISS'))
          reachedModel.add(result.resultId);
      },
    },
  );
  if (options.keepResults !== false) pipeline.onResult((r) => results.push(r));
  const backend = options.backend ?? (await selectBackend('node'));
  const handles: ModelHandle[] = [];
  for (const artifact of artifacts) {
    const handle = await loadModel(artifact, backend.backend, {
      maxBatch: options.maxBatch ?? 64,
      batchMaxWaitMs: options.batchMaxWaitMs ?? 2,
    });
    handles.push(handle);
    const runner = new ModelRunner(
      handle.model,
      {
        runtimeVersion: RUNTIME_VERSION,
        inferenceDeadlineMs: options.inferenceDeadlineMs ?? 10_000,
        monoNow,
        shadow: false,
      },
      pipeline.observer,
    );
    pipeline.setFamily(artifact.manifest.modelFamily, { active: runner, shadow: null });
  }
  return {
    pipeline,
    handles,
    results,
    events,
    reachedModel,
    internalErrors,
    close: async () => {
      await pipeline.drain();
      await Promise.all(handles.map((h) => h.unload()));
    },
  };
}
