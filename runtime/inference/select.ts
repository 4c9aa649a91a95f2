// Backend selection: explicit in config; `auto` prefers the native binding and falls back to wasm
// where it cannot load (e.g. 32-bit ARM gateways, for which onnxruntime-node ships no prebuilt
// binary), recording why — the reason goes to the log and the audit trail with the choice.
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

/** Where the runtime runs (injectable so that tests can pretend to be another gateway). */
export interface HostPlatform {
  readonly os: string;
  readonly arch: string;
}

export const CURRENT_PLATFORM: HostPlatform = Object.freeze({ os: process.platform, arch: process.arch });

/** Platforms onnxruntime-node 1.x ships prebuilt CPU binaries for (bin/napi-v6/<os>/<arch>). */
export const NATIVE_PLATFORMS: readonly string[] = Object.freeze([
  'linux/x64',
  'linux/arm64',
  'darwin/arm64',
  'darwin/x64',
  'win32/x64',
  'win32/arm64',
]);

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
  platform: HostPlatform = CURRENT_PLATFORM,
): Promise<BackendChoice> {
  switch (requested) {
    case 'node':
      return { backend: await nodeBackend(loaders, options), requested, reason: 'requested in config' };
    case 'wasm':
      return { backend: await wasmBackend(loaders, options), requested, reason: 'requested in config' };
    case 'auto': {
      const host = `${platform.os}/${platform.arch}`;
      if (!NATIVE_PLATFORMS.includes(host)) {
        return {
          backend: await wasmBackend(loaders, options),
          requested,
          reason: `onnxruntime-node ships no binary for ${host}: using wasm`,
        };
      }
      try {
        return {
          backend: await nodeBackend(loaders, options),
          requested,
          reason: 'native binding loaded (preferred)',
        };
      } catch (nativeError) {
        try {
          const backend = await wasmBackend(loaders, options);
          return {
            backend,
            requested,
            reason: `native binding unavailable, using wasm: ${describe(nativeError)}`,
          };
        } catch (wasmError) {
          throw new InferenceError(
            'BACKEND_UNAVAILABLE',
            `no inference backend: ${describe(nativeError)}; ${describe(wasmError)}`,
            { cause: wasmError },
          );
        }
      }
    }
  }
}
