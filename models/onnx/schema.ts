// Loads the committed ONNX schema subset (onnx-subset.proto) into protobufjs reflection types,
// lazily on first use so that importing this package costs nothing until a model is written.
// keepCase keeps the upstream snake_case field names (op_type, raw_data, …) in the plain objects.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

let modelProto: protobuf.Type | undefined;

export function modelProtoType(): protobuf.Type {
  if (modelProto === undefined) {
    const source = readFileSync(new URL('./onnx-subset.proto', import.meta.url), 'utf8');
    modelProto = protobuf.parse(source, { keepCase: true }).root.lookupType('onnx.ModelProto');
  }
  return modelProto;
}

/** TensorProto.DataType values used by the writer (onnx.proto). */
export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;

/** AttributeProto.AttributeType values used by the writer (onnx.proto). */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;
