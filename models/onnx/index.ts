// Public API of the ONNX writer.
export { OnnxError } from './errors.ts';
export type { OnnxErrorCode } from './errors.ts';
export {
  ONNX_IR_VERSION,
  ONNX_OPSET,
  SUPPORTED_OPS,
  compareCodeUnits,
  decodeModel,
  encodeModel,
  validateModelSpec,
} from './model.ts';
export type {
  Dim,
  FloatInitializer,
  FloatValueInfo,
  OnnxAttribute,
  OnnxModelSpec,
  OnnxNode,
} from './model.ts';
export {
  BATCH_DIM,
  ONNX_WRITER_VERSION,
  buildMlpClassifier,
  mlpLayerShapes,
  mlpModelSpec,
  mlpReferenceForward,
} from './mlp.ts';
export type { DenseLayerParams, HiddenActivation, LayerShape, MlpClassifierSpec } from './mlp.ts';
export { scoreWithOnnxRuntime } from './run.ts';
export type { OnnxScoreOptions } from './run.ts';
