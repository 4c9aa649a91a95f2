// The inference backend interface: the pipeline sees only this, never ONNX Runtime itself.
export type BackendKind = 'node' | 'wasm';

/** What the manifest declares about the model's interface (ModelSpec). */
export interface ModelIo {
  readonly inputName: string;
  readonly outputName: string;
  readonly featureCount: number;
}

export interface ModelSession {
  readonly backend: BackendKind;
  readonly io: ModelIo;
  /**
   * Scores for `batchSize` rows of `io.featureCount` features (row-major). The model emits one
   * probability per row; the returned array has `batchSize` entries.
   */
  run(features: Float32Array, batchSize: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface InferenceBackend {
  readonly kind: BackendKind;
  /** Creates the session once, checks its signature against `io`, and warms it up. */
  createSession(modelBytes: Uint8Array, io: ModelIo): Promise<ModelSession>;
}

/** How the backend was chosen, for logs and the audit trail. */
export interface BackendChoice {
  readonly backend: InferenceBackend;
  readonly requested: BackendPreference;
  readonly reason: string;
}

export type BackendPreference = 'auto' | 'node' | 'wasm';
