// Loads the committed ONNX schema subset (onnx-subset.proto) into protobufjs reflection types.
// keepCase keeps the upstream snake_case field names (op_type, raw_data, …) in the plain objects.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const PROTO_SOURCE = readFileSync(new URL('./onnx-subset.proto', import.meta.url), 'utf8');

const root = protobuf.parse(PROTO_SOURCE, { keepCase: true }).root;

export const ModelProtoType: protobuf.Type = root.lookupType('onnx.ModelProto');

/** TensorProto.DataType values used by the writer (onnx.proto). */
export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;

/** AttributeProto.AttributeType values used by the writer (onnx.proto). */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;
