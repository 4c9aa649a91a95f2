import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addProbationResult,
  agree,
  compareResults,
  judgeProbation,
  promotionCheck,
  stageAllows,
  widestApprovedStage,
} from '../../../../runtime/lifecycle/index.ts';
import type { ResultStatus } from '../../../../runtime/pipeline/index.ts';
import { ZERO_PROBATION, ZERO_SHADOW } from '../../../../runtime/state/index.ts';
import type { VerifiedApproval } from '../../../../runtime/verify/index.ts';
import { FALLBACK, OK, OK_POSITIVE, OOD, TRUST, result } from './helpers.ts';

const PROBATION = {
  windows: 1000,
  maxInferenceErrors: 0,
  maxDeadlineMisses: 0,
  maxFallbackRate: 1,
  maxLatencyP99Ms: 10,
};

describe('probation judgement', () => {
  it('judges latency p99 exactly as the nearest-rank percentile of all results (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 40, noNaN: true }), { minLength: 1, maxLength: 400 }),
        (latencies) => {
          let c = ZERO_PROBATION;
          for (const ms of latencies)
            c = addProbationResult(c, result('a'.repeat(64), OK, { latencyMs: ms }), PROBATION);
          const sorted = [...latencies].sort((a, b) => a - b);
          const p99 = sorted[Math.max(1, Math.ceil(0.99 * sorted.length)) - 1] ?? 0;
          const verdict = judgeProbation(c, PROBATION, 1);
          expect(verdict.kind === 'breached').toBe(p99 > PROBATION.maxLatencyP99Ms);
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  it('breaches on counts at once, and on rates only from the minimum window count', () => {
    const policy = { ...PROBATION, maxFallbackRate: 0.1, maxInferenceErrors: 1, maxLatencyP99Ms: 1000 };
    let c = ZERO_PROBATION;
    for (let i = 0; i < 5; i += 1) c = addProbationResult(c, result('a'.repeat(64), OOD), policy);
    expect(judgeProbation(c, policy, 10).kind).toBe('running'); // 100 % fallbacks, but only 5 windows
    expect(judgeProbation(c, policy, 5)).toMatchObject({ kind: 'breached' });
    const error: ResultStatus = {
      kind: 'fallback',
      reason: 'INFERENCE_ERROR',
      detail: '',
      output: { kind: 'suppressed' },
    };
    let e = ZERO_PROBATION;
    e = addProbationResult(e, result('a'.repeat(64), error), policy);
    expect(judgeProbation(e, policy, 100).kind).toBe('running');
    e = addProbationResult(e, result('a'.repeat(64), error), policy);
    expect(judgeProbation(e, policy, 100)).toMatchObject({
      kind: 'breached',
      breaches: ['2 inference errors (at most 1)'],
    });
  });

  it('does not count forced or quality-gate fallbacks against the bundle', () => {
    const revoked: ResultStatus = {
      kind: 'fallback',
      reason: 'MODEL_REVOKED',
      detail: '',
      output: { kind: 'suppressed' },
    };
    let c = ZERO_PROBATION;
    for (const s of [revoked, FALLBACK, OOD]) c = addProbationResult(c, result('a'.repeat(64), s), PROBATION);
    expect(c).toMatchObject({ windows: 3, fallbacks: 1 });
  });

  it('passes once the probation windows are in without a breach', () => {
    const policy = { ...PROBATION, windows: 3 };
    let c = ZERO_PROBATION;
    for (let i = 0; i < 3; i += 1) c = addProbationResult(c, result('a'.repeat(64), OK), policy);
    expect(judgeProbation(c, policy, 100).kind).toBe('passed');
  });
});

describe('shadow evidence', () => {
  it('agrees on status kind, and on the label when both are model outputs', () => {
    expect(agree(OK, OK)).toBe(true);
    expect(agree(OK, OK_POSITIVE)).toBe(false);
    expect(agree(OK, FALLBACK)).toBe(false);
    expect(agree(FALLBACK, OOD)).toBe(true);
  });

  it('names every unmet promotion criterion', () => {
    const policy = {
      shadowMinWindows: 100,
      shadowMinAgreement: 0.95,
      maxFallbackRateIncrease: 0.01,
      maxAlertRateIncreasePer1k: 1,
      autoPromote: true,
      probation: PROBATION,
    };
    expect(promotionCheck(ZERO_SHADOW, policy).unmet).toEqual([
      '0 of 100 shadow windows',
      'agreement 0 below 0.95',
    ]);
    const c = {
      windows: 200,
      agreements: 180,
      active: { ok: 200, indeterminate: 0, fallback: 0, alerts: 0 },
      candidate: { ok: 180, indeterminate: 0, fallback: 20, alerts: 2 },
    };
    const check = promotionCheck(c, policy);
    expect(check.ready).toBe(false);
    expect(check.unmet).toEqual([
      'agreement 0.9000 below 0.95',
      'fallback rate up 0.1000 (at most 0.01)',
      'alerts up 10 per 1000 windows (at most 1)',
    ]);
  });
});

describe('approved stages', () => {
  const approval = (role: string, scope: string, allows: readonly ('shadow' | 'canary' | 'full')[]) =>
    ({
      kid: role,
      alg: -8,
      role,
      reviewer: 'x <x@y.z>',
      timeMs: 0,
      scope,
      subject: new Uint8Array(32),
      allows,
    }) as VerifiedApproval;
  it('is the widest stage every required role allows', () => {
    const all = ['qa', 'clinical', 'regulatory'];
    expect(
      widestApprovedStage(
        all.map((r) => approval(r, 'full', ['shadow', 'canary', 'full'])),
        TRUST.store,
      ),
    ).toBe('full');
    const mixed = [
      approval('qa', 'full', ['shadow', 'canary', 'full']),
      approval('clinical', 'canary', ['shadow', 'canary']),
      approval('regulatory', 'full', ['shadow', 'canary', 'full']),
    ];
    expect(widestApprovedStage(mixed, TRUST.store)).toBe('canary');
    expect(widestApprovedStage(mixed.slice(1), TRUST.store)).toBeNull();
    expect(stageAllows('canary', 'shadow')).toBe(true);
    expect(stageAllows('canary', 'full')).toBe(false);
  });
});

describe('replay comparison', () => {
  const sha = 'a'.repeat(64);
  const ctx = { firstWindows: 0, runtimeVersion: '0.1.0' };
  it('is identical only for the same kind, reason and float32 bits', () => {
    expect(compareResults(result(sha, OK), result(sha, OK), ctx)).toEqual({ kind: 'identical' });
    const nudged: ResultStatus = {
      kind: 'ok',
      score: 0.1 + 1e-9,
      label: 'no_fall',
      positive: false,
      alert: false,
    };
    expect(compareResults(result(sha, OK), result(sha, nudged), ctx)).toMatchObject({
      kind: 'different',
      explanation: expect.stringMatching(/bits 3dcccccd recorded|bits/) as string,
    });
  });

  it('explains deadline misses, motion context and post-processing state', () => {
    const miss: ResultStatus = {
      kind: 'fallback',
      reason: 'DEADLINE_MISS',
      detail: '',
      output: { kind: 'suppressed' },
    };
    expect(compareResults(result(sha, miss), result(sha, OK), ctx)).toMatchObject({
      explanation: expect.stringMatching(/timing or the inference session/) as string,
    });
    const motion: ResultStatus = {
      kind: 'fallback',
      reason: 'QUALITY_MOTION_UNAVAILABLE',
      detail: '',
      output: { kind: 'suppressed' },
    };
    expect(compareResults(result(sha, OK), result(sha, motion), ctx)).toMatchObject({
      explanation: expect.stringMatching(/accelerometer context/) as string,
    });
    const noAlert: ResultStatus = { kind: 'ok', score: 0.9, label: 'fall', positive: true, alert: false };
    expect(
      compareResults(result(sha, OK_POSITIVE), result(sha, noAlert), { ...ctx, firstWindows: 1 }),
    ).toMatchObject({
      explanation: expect.stringMatching(/post-processing/) as string,
    });
  });
});
