/** A user-facing CLI failure: printed as `vigil: CODE: message`, exit code non-zero. */
export type CliErrorCode = 'BAD_ARGUMENT' | 'NOT_FOUND' | 'FAILED';

export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode | (string & {}),
    message: string,
    readonly exitCode = 2,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}
