// Trained float64 parameters → the ONNX writer's float32 spec (Float32Array.from rounds to
// nearest-even, exactly as ECMA-262 defines for Float32 conversion).
import { buildMlpClassifier } from '../onnx/index.ts';
import type { MlpClassifierSpec } from '../onnx/index.ts';
import type { TrainedClassifier } from './trainer.ts';

export interface ExportOptions {
  readonly inputName: string;
  readonly outputName: string;
  readonly docString: string;
  /** Free-form model metadata; keep it free of times and commits so rebuilds stay byte-identical. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly graphName?: string;
  readonly modelVersion?: number;
}

export function toMlpClassifierSpec(model: TrainedClassifier, options: ExportOptions): MlpClassifierSpec {
  return {
    inputName: options.inputName,
    outputName: options.outputName,
    featureCount: model.featureNames.length,
    impute: Float32Array.from(model.standardizer.impute),
    center: Float32Array.from(model.standardizer.center),
    scale: Float32Array.from(model.standardizer.scale),
    layers: model.layers.map((l) => ({
      weights: Float32Array.from(l.weights),
      bias: Float32Array.from(l.bias),
    })),
    activation: model.activation,
    output: 'sigmoid',
    docString: options.docString,
    metadata: {
      ...options.metadata,
      'vigil.feature_names': JSON.stringify(model.featureNames),
      'vigil.nan_imputation': 'training-median',
      'vigil.standardization': model.standardizer.method,
    },
    ...(options.graphName === undefined ? {} : { graphName: options.graphName }),
    ...(options.modelVersion === undefined ? {} : { modelVersion: options.modelVersion }),
  };
}

/** ONNX bytes (IR 8, opset 17) of a trained classifier, with imputation and standardisation in the graph. */
export function exportClassifierOnnx(model: TrainedClassifier, options: ExportOptions): Uint8Array {
  return buildMlpClassifier(toMlpClassifierSpec(model, options));
}
