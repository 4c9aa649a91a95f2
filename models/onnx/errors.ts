// One error class for the ONNX writer (DESIGN.md "Errors"): tests assert `code`, not the message.

export type OnnxErrorCode =
  | 'BAD_NAME' // empty or non-string name, or a name used twice
  | 'UNDEFINED_VALUE' // a node reads a value that no input, initializer or earlier node defines
  | 'UNSUPPORTED_OP' // op type outside the writer's opset-17 allow-list
  | 'BAD_SHAPE' // dimension or length mismatch
  | 'BAD_VALUE' // non-finite parameter, zero scale, bad metadata
  | 'BAD_MODEL'; // bytes that do not decode as a ModelProto

export class OnnxError extends Error {
  constructor(
    readonly code: OnnxErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OnnxError';
  }
}
