// A small, safe interpreter for the fallback rules a manifest declares (no `eval`): the expression
// tree was parsed and depth-limited at verification; here it is only evaluated over named features.
import type { RuleExpr } from '../../models/format/manifest.ts';

export type RuleValue = number | boolean;

export class RuleEvaluationError extends Error {
  constructor(
    readonly code: 'UNKNOWN_FEATURE' | 'TYPE_MISMATCH' | 'NOT_COMPUTABLE',
    message: string,
  ) {
    super(message);
    this.name = 'RuleEvaluationError';
  }
}

export function evaluateRule(expr: RuleExpr, features: ReadonlyMap<string, number>): RuleValue {
  switch (expr.op) {
    case 'feature': {
      const value = features.get(expr.name);
      if (value === undefined) throw new RuleEvaluationError('UNKNOWN_FEATURE', `no feature ${expr.name}`);
      if (!Number.isFinite(value)) {
        throw new RuleEvaluationError('NOT_COMPUTABLE', `feature ${expr.name} is not computable here`);
      }
      return value;
    }
    case 'const':
      return expr.value;
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le': {
      const left = asNumber(evaluateRule(expr.left, features));
      const right = asNumber(evaluateRule(expr.right, features));
      if (expr.op === 'gt') return left > right;
      if (expr.op === 'ge') return left >= right;
      if (expr.op === 'lt') return left < right;
      return left <= right;
    }
    case 'and':
      return expr.args.every((arg) => asBoolean(evaluateRule(arg, features)));
    case 'or':
      return expr.args.some((arg) => asBoolean(evaluateRule(arg, features)));
    case 'not':
      return !asBoolean(evaluateRule(expr.arg, features));
  }
}

function asNumber(value: RuleValue): number {
  if (typeof value !== 'number') throw new RuleEvaluationError('TYPE_MISMATCH', 'expected a number');
  return value;
}

function asBoolean(value: RuleValue): boolean {
  if (typeof value !== 'boolean') throw new RuleEvaluationError('TYPE_MISMATCH', 'expected a condition');
  return value;
}
