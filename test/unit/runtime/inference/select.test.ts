import { describe, expect, it } from 'vitest';
import type { ModelIo } from '../../../../runtime/inference/backend.ts';
import { InferenceError } from '../../../../runtime/inference/errors.ts';
import { ortBackend, type OrtModule, type OrtSession } from '../../../../runtime/inference/ort-session.ts';
import { selectBackend, type BackendLoaders } from '../../../../runtime/inference/select.ts';

/** A stand-in for an ONNX Runtime package: sessions score each row by its first feature. */
function fakeOrt(
  behaviour: {
    create?: () => Promise<OrtSession>;
    inputNames?: string[];
    outputNames?: string[];
    run?: OrtSession['run'];
  } = {},
) {
  const log: string[] = [];
  class Tensor {
    constructor(
      readonly type: 'float32',
      readonly data: Float32Array,
      readonly dims: readonly number[],
    ) {}
  }
  const session: OrtSession = {
    inputNames: behaviour.inputNames ?? ['x'],
    outputNames: behaviour.outputNames ?? ['p'],
    run:
      behaviour.run ??
      ((feeds) => {
        const x = feeds.x as unknown as Tensor;
        const rows = x.dims[0] ?? 0;
        const width = x.dims[1] ?? 1;
        const out = Float32Array.from({ length: rows }, (_, i) => x.data[i * width] ?? 0);
        return Promise.resolve({ p: new Tensor('float32', out, [rows, 1]) } as never);
      }),
    release: () => {
      log.push('release');
      return Promise.resolve();
    },
  };
  const module = {
    InferenceSession: {
      create: (_bytes: Uint8Array, options?: unknown) => {
        log.push(`create ${JSON.stringify(options)}`);
        return behaviour.create ? behaviour.create() : Promise.resolve(session);
      },
    },
    Tensor,
    env: { wasm: {} as { numThreads?: number } },
  };
  return { module: module as unknown as OrtModule & { env: { wasm: { numThreads?: number } } }, log };
}

const io: ModelIo = { inputName: 'x', outputName: 'p', featureCount: 2 };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InferenceError) return error.code;
    throw error;
  }
  return 'none';
}

describe('selectBackend', () => {
  const wasm = fakeOrt();
  const loaders = (node: () => Promise<OrtModule>): BackendLoaders & { calls: string[] } => {
    const calls: string[] = [];
    return {
      calls,
      loadNode: () => {
        calls.push('node');
        return node();
      },
      loadWasm: () => {
        calls.push('wasm');
        return Promise.resolve(wasm.module);
      },
    };
  };

  it('prefers the native binding and records why', async () => {
    const l = loaders(() => Promise.resolve(fakeOrt().module));
    const choice = await selectBackend('auto', undefined, l, { os: 'linux', arch: 'x64' });
    expect(choice.backend.kind).toBe('node');
    expect(choice.reason).toMatch(/native/);
    expect(l.calls).toEqual(['node']);
  });

  it('falls back to wasm when the native binding fails to load, with the error in the reason', async () => {
    const l = loaders(() => Promise.reject(new Error('libonnxruntime.so.1: cannot open shared object file')));
    const choice = await selectBackend('auto', { nodeIntraOpThreads: 1, wasmThreads: 1 }, l, {
      os: 'linux',
      arch: 'x64',
    });
    expect(choice.backend.kind).toBe('wasm');
    expect(choice.requested).toBe('auto');
    expect(choice.reason).toContain('cannot open shared object file');
    expect(wasm.module.env.wasm.numThreads).toBe(1);
  });

  it('goes straight to wasm on a platform without a prebuilt native binary (32-bit ARM)', async () => {
    const l = loaders(() => Promise.resolve(fakeOrt().module));
    const choice = await selectBackend('auto', undefined, l, { os: 'linux', arch: 'arm' });
    expect(choice.backend.kind).toBe('wasm');
    expect(choice.reason).toContain('linux/arm');
    expect(l.calls).toEqual(['wasm']);
  });

  it('honours an explicit choice and fails with a code when it cannot load', async () => {
    const broken = loaders(() => Promise.reject(new Error('no binding')));
    expect(await codeOf(selectBackend('node', undefined, broken))).toBe('BACKEND_UNAVAILABLE');
    expect((await selectBackend('wasm', undefined, broken)).backend.kind).toBe('wasm');
    const none: BackendLoaders = {
      loadNode: () => Promise.reject(new Error('a')),
      loadWasm: () => Promise.reject(new Error('b')),
    };
    expect(await codeOf(selectBackend('auto', undefined, none, { os: 'linux', arch: 'x64' }))).toBe(
      'BACKEND_UNAVAILABLE',
    );
  });
});

describe('ortBackend sessions', () => {
  it('creates, warms up and runs a session; reuses it; closes once', async () => {
    const ort = fakeOrt();
    const backend = ortBackend('node', ort.module, { intraOpNumThreads: 1 });
    const session = await backend.createSession(new Uint8Array(4), io);
    expect(ort.log.filter((l) => l.startsWith('create'))).toHaveLength(1);
    expect(Array.from(await session.run(Float32Array.of(0.25, 9, 0.75, 9), 2))).toEqual([0.25, 0.75]);
    expect(await codeOf(session.run(Float32Array.of(1, 2, 3), 2))).toBe('BAD_BATCH');
    expect(await codeOf(session.run(new Float32Array(0), 0))).toBe('BAD_BATCH');
    await session.close();
    await session.close();
    expect(ort.log.filter((l) => l === 'release')).toHaveLength(1);
    expect(await codeOf(session.run(Float32Array.of(1, 2), 1))).toBe('CLOSED');
  });

  it('turns load, signature, warm-up and run failures into typed errors', async () => {
    const corrupt = fakeOrt({ create: () => Promise.reject(new Error('protobuf parsing failed')) });
    expect(await codeOf(ortBackend('node', corrupt.module, {}).createSession(new Uint8Array(1), io))).toBe(
      'MODEL_CORRUPT',
    );
    const renamed = fakeOrt({ inputNames: ['input'] });
    expect(await codeOf(ortBackend('node', renamed.module, {}).createSession(new Uint8Array(1), io))).toBe(
      'MODEL_SIGNATURE',
    );
    expect(renamed.log).toContain('release');
    const warmupFails = fakeOrt({ run: () => Promise.reject(new Error('shape mismatch')) });
    expect(
      await codeOf(ortBackend('node', warmupFails.module, {}).createSession(new Uint8Array(1), io)),
    ).toBe('MODEL_SIGNATURE');
    let calls = 0;
    const flaky = fakeOrt({
      run: () => {
        calls += 1;
        if (calls === 1)
          return Promise.resolve({ p: { type: 'float32', data: new Float32Array(1) } } as never);
        return calls === 2
          ? Promise.reject(new Error('kernel crashed'))
          : Promise.resolve({ p: { type: 'float32', data: new Float32Array(5) } } as never);
      },
    });
    const session = await ortBackend('wasm', flaky.module, {}).createSession(new Uint8Array(1), io);
    expect(session.backend).toBe('wasm');
    expect(await codeOf(session.run(Float32Array.of(1, 2), 1))).toBe('RUN_FAILED');
    expect(await codeOf(session.run(Float32Array.of(1, 2), 1))).toBe('RUN_FAILED'); // wrong output shape
  });
});
