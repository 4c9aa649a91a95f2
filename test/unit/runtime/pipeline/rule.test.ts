import { describe, expect, it } from 'vitest';
import type { RuleExpr } from '../../../../models/format/manifest.ts';
import { evaluateRule, RuleEvaluationError } from '../../../../runtime/pipeline/rule.ts';

const fallRule: RuleExpr = {
  op: 'and',
  args: [
    { op: 'gt', left: { op: 'feature', name: 'mag_max_g' }, right: { op: 'const', value: 3 } },
    { op: 'ge', left: { op: 'feature', name: 'still_s' }, right: { op: 'const', value: 2 } },
  ],
};

describe('evaluateRule', () => {
  it('evaluates a declared rule over named features', () => {
    expect(
      evaluateRule(
        fallRule,
        new Map([
          ['mag_max_g', 4],
          ['still_s', 2.5],
        ]),
      ),
    ).toBe(true);
    expect(
      evaluateRule(
        fallRule,
        new Map([
          ['mag_max_g', 2],
          ['still_s', 2.5],
        ]),
      ),
    ).toBe(false);
    expect(
      evaluateRule(
        { op: 'not', arg: fallRule },
        new Map([
          ['mag_max_g', 2],
          ['still_s', 0],
        ]),
      ),
    ).toBe(true);
  });

  it('refuses unknown or non-computable features and type errors with codes', () => {
    const codeOf = (expr: RuleExpr, features: Map<string, number>) => {
      try {
        evaluateRule(expr, features);
        return 'none';
      } catch (error) {
        return error instanceof RuleEvaluationError ? error.code : 'other';
      }
    };
    expect(codeOf(fallRule, new Map([['mag_max_g', 4]]))).toBe('UNKNOWN_FEATURE');
    expect(
      codeOf(
        fallRule,
        new Map([
          ['mag_max_g', Number.NaN],
          ['still_s', 1],
        ]),
      ),
    ).toBe('NOT_COMPUTABLE');
    expect(codeOf({ op: 'and', args: [{ op: 'const', value: 1 }] }, new Map())).toBe('TYPE_MISMATCH');
  });
});
