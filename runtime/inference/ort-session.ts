// One adapter for both ONNX Runtime packages: onnxruntime-node and onnxruntime-web expose the same
// InferenceSession/Tensor API (onnxruntime-common), so only session options differ.
import type * as ortCommon from 'onnxruntime-node';
import type { BackendKind, InferenceBackend, ModelIo, ModelSession } from './backend.ts';
import { InferenceError } from './errors.ts';

/** The part of an ONNX Runtime package the adapter uses. */
export interface OrtModule {
  readonly InferenceSession: {
    create(bytes: Uint8Array, options?: ortCommon.InferenceSession.SessionOptions): Promise<OrtSession>;
  };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => ortCommon.Tensor;
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, ortCommon.Tensor>): Promise<Record<string, ortCommon.Tensor>>;
  release(): Promise<void>;
}

class OrtModelSession implements ModelSession {
  private closed = false;

  constructor(
    readonly backend: BackendKind,
    readonly io: ModelIo,
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
  ) {}

  async run(features: Float32Array, batchSize: number): Promise<Float32Array> {
    if (this.closed) throw new InferenceError('CLOSED', 'the inference session is closed');
    if (
      !Number.isInteger(batchSize) ||
      batchSize < 1 ||
      features.length !== batchSize * this.io.featureCount
    ) {
      throw new InferenceError(
        'BAD_BATCH',
        `expected ${batchSize} × ${this.io.featureCount} features, got ${features.length} values`,
      );
    }
    let outputs: Record<string, ortCommon.Tensor>;
    try {
      const input = new this.ort.Tensor('float32', features, [batchSize, this.io.featureCount]);
      outputs = await this.session.run({ [this.io.inputName]: input });
    } catch (cause) {
      throw new InferenceError('RUN_FAILED', `session.run failed: ${String(cause)}`, { cause });
    }
    const output = outputs[this.io.outputName];
    if (output?.type !== 'float32' || output.data.length !== batchSize) {
      throw new InferenceError('RUN_FAILED', `output ${this.io.outputName} has an unexpected shape or type`);
    }
    // Copy: the runtime's tensor buffers may be reused by the next run.
    return Float32Array.from(output.data as Float32Array);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}

export function ortBackend(
  kind: BackendKind,
  ort: OrtModule,
  options: ortCommon.InferenceSession.SessionOptions,
): InferenceBackend {
  return {
    kind,
    async createSession(modelBytes: Uint8Array, io: ModelIo): Promise<ModelSession> {
      let session: OrtSession;
      try {
        session = await ort.InferenceSession.create(modelBytes, options);
      } catch (cause) {
        throw new InferenceError('MODEL_CORRUPT', `ONNX Runtime (${kind}) could not load the model`, {
          cause,
        });
      }
      if (!session.inputNames.includes(io.inputName) || !session.outputNames.includes(io.outputName)) {
        await session.release();
        throw new InferenceError(
          'MODEL_SIGNATURE',
          `model has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}],` +
            ` the manifest declares ${io.inputName} → ${io.outputName}`,
        );
      }
      const modelSession = new OrtModelSession(kind, io, ort, session);
      // Warm-up: the first run allocates kernels and arenas; do it before the first real window.
      try {
        await modelSession.run(new Float32Array(io.featureCount), 1);
      } catch (cause) {
        await modelSession.close();
        throw new InferenceError('MODEL_SIGNATURE', `warm-up run failed for ${io.featureCount} features`, {
          cause,
        });
      }
      return modelSession;
    },
  };
}
