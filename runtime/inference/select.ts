// Backend selection: explicit in config; `auto` prefers the native binding and falls back to wasm
// where it cannot load (e.g. 32-bit ARM gateways without a prebuilt binary), recording why.
import type { BackendChoice, BackendPreference, InferenceBackend } from './backend.ts';
import { InferenceError } from './errors.ts';
import { ortBackend, type OrtModule } from './ort-session.ts';

export interface BackendLoaders {
  loadNode(): Promise<OrtModule>;
  loadWasm(): Promise<OrtModule & { readonly env: { wasm: { numThreads?: number } } }>;
}

export const DEFAULT_LOADERS: BackendLoaders = {
  loadNode: async () => await import('onnxruntime-node'),
  loadWasm: async () => await import('onnxruntime-web'),
};

export interface BackendOptions {
  /** Intra-op threads for the native backend (1 keeps the tail short on small gateways). */
  readonly nodeIntraOpThreads: number;
  /** Threads for the wasm backend; DESIGN.md measured that threads hurt the tail on small gateways. */
  readonly wasmThreads: number;
}

export const DEFAULT_BACKEND_OPTIONS: BackendOptions = Object.freeze({
  nodeIntraOpThreads: 1,
  wasmThreads: 1,
});

async function nodeBackend(loaders: BackendLoaders, options: BackendOptions): Promise<InferenceBackend> {
  try {
    const ort = await loaders.loadNode();
    return ortBackend('node', ort, {
      intraOpNumThreads: options.nodeIntraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (cause) {
    throw new InferenceError('BACKEND_UNAVAILABLE', `onnxruntime-node cannot load: ${describe(cause)}`, {
      cause,
    });
  }
}

async function wasmBackend(loaders: BackendLoaders, options: BackendOptions): Promise<InferenceBackend> {
  try {
    const ort = await loaders.loadWasm();
    ort.env.wasm.numThreads = options.wasmThreads;
    return ortBackend('wasm', ort, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  } catch (cause) {
    throw new InferenceError('BACKEND_UNAVAILABLE', `onnxruntime-web cannot load: ${describe(cause)}`, {
      cause,
    });
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

export async function selectBackend(
  requested: BackendPreference,
  options: BackendOptions = DEFAULT_BACKEND_OPTIONS,
  loaders: BackendLoaders = DEFAULT_LOADERS,
): Promise<BackendChoice> {
  switch (requested) {
    case 'node':
      return { backend: await nodeBackend(loaders, options), requested, reason: 'requested in config' };
    case 'wasm':
      return { backend: await wasmBackend(loaders, options), requested, reason: 'requested in config' };
    case 'auto':
      try {
        return {
          backend: await nodeBackend(loaders, options),
          requested,
          reason: 'native binding loaded (preferred)',
        };
      } catch (nativeError) {
        const backend = await wasmBackend(loaders, options);
        return {
          backend,
          requested,
          reason: `native binding unavailable, using wasm: ${describe(nativeError)}`,
        };
      }
  }
}
