/** Closed set of reasons a simulator call is rejected (house style: one error class per domain). */
export type SimulatorErrorCode = 'BAD_ARGUMENT' | 'BAD_COHORT' | 'BAD_ARTIFACT' | 'BAD_EVENTS' | 'BAD_SEED';

export class SimulatorError extends Error {
  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SimulatorError';
  }
}

/** Throws BAD_ARGUMENT unless `value` is a finite number in [min, max]. */
export function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new SimulatorError('BAD_ARGUMENT', `${name} must be a number in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** Throws BAD_ARGUMENT unless `value` is an integer in [min, max]. */
export function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SimulatorError('BAD_ARGUMENT', `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}
