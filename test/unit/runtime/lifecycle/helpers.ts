// Shared set-up for lifecycle tests: the bundle test kit's keys and trust, bundles of one family with
// increasing sequence numbers and chosen rollout policies, a controllable clock, signed commands and
// synthetic window results.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signerFor, type SecretKey } from '../../../../models/format/index.ts';
import {
  Lifecycle,
  signCommand,
  type Command,
  type CommandBody,
  type LifecycleOptions,
} from '../../../../runtime/lifecycle/index.ts';
import type { ResultStatus, WindowResult } from '../../../../runtime/pipeline/index.ts';
import {
  DEVICE_CLASS,
  KEYS,
  STANDARD_APPROVERS,
  T0,
  makeBundle,
  makeTrust,
  sampleSpec,
  type Approver,
} from '../../../fixtures/bundles/kit.ts';

export { KEYS, T0 };
export const FAMILY = 'fall-detector';
export const DEVICE = {
  deviceId: 'gw-0001',
  fleet: 'ward-3',
  cohort: 'night',
  deviceClass: DEVICE_CLASS,
  runtimeVersion: '0.1.0',
} as const;

export const TRUST = makeTrust();

export interface Rollout {
  shadowMinWindows?: number;
  shadowMinAgreement?: number;
  maxFallbackRateIncrease?: number;
  maxAlertRateIncreasePer1k?: number;
  autoPromote?: boolean;
  probation?: Partial<{
    windows: number;
    maxInferenceErrors: number;
    maxDeadlineMisses: number;
    maxFallbackRate: number;
    maxLatencyP99Ms: number;
  }>;
}

/** A small rollout policy so that tests reach the thresholds with a few dozen windows. */
export function rollout(overrides: Rollout = {}): Record<string, unknown> {
  return {
    shadowMinWindows: 20,
    shadowMinAgreement: 0.9,
    maxFallbackRateIncrease: 0.05,
    maxAlertRateIncreasePer1k: 50,
    autoPromote: false,
    ...overrides,
    probation: {
      windows: 30,
      maxInferenceErrors: 0,
      maxDeadlineMisses: 2,
      maxFallbackRate: 0.2,
      maxLatencyP99Ms: 50,
      ...overrides.probation,
    },
  };
}

/** Builds an approved bundle of `family` with `sequence` (version 1.<sequence>.0). */
export async function bundle(
  sequence: number,
  options: {
    family?: string;
    rollout?: Rollout;
    approvers?: readonly Approver[];
    dir?: string;
    model?: Uint8Array;
    spec?: Record<string, unknown>;
  } = {},
): Promise<string> {
  const family = options.family ?? FAMILY;
  const built = await makeBundle({
    spec: sampleSpec({
      bundleId: `${family}@1.${sequence}.0`,
      modelFamily: family,
      version: `1.${sequence}.0`,
      sequence,
      rollout: rollout(options.rollout),
      ...options.spec,
    }),
    approvers: options.approvers ?? STANDARD_APPROVERS,
    name: `${family}-${sequence}.vbundle`,
    ...(options.dir === undefined ? {} : { dir: options.dir }),
    model: options.model ?? Uint8Array.from({ length: 2048 }, (_, i) => (i * 7 + sequence) & 0xff),
  });
  return built.path;
}

export const CANARY_APPROVERS: readonly Approver[] = STANDARD_APPROVERS.map((a) => ({
  ...a,
  scope: 'canary',
}));
export const SHADOW_APPROVERS: readonly Approver[] = STANDARD_APPROVERS.map((a) => ({
  ...a,
  scope: 'shadow',
}));

export class Clock {
  constructor(public ms = T0) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-lifecycle-'));
}

let seed = 0;
/** Deterministic random bytes for keys and nonces in tests. */
export function seededRandom(label = 'lifecycle-test'): (n: number) => Uint8Array {
  const base = `${label}/${seed++}`;
  let counter = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const block = crypto.createHash('sha256').update(`${base}/${counter++}`).digest();
      out.set(block.subarray(0, Math.min(block.length, n - at)), at);
      at += block.length;
    }
    return out;
  };
}

export function openLifecycle(
  dataDir: string,
  clock: Clock,
  overrides: Partial<LifecycleOptions> & { noTrust?: boolean } = {},
): Promise<Lifecycle> {
  const { noTrust, ...rest } = overrides;
  return Lifecycle.open({
    dataDir,
    device: DEVICE,
    ...(noTrust === true ? {} : { trust: TRUST.bytes }),
    now: clock.now,
    random: seededRandom(),
    ...rest,
  });
}

let nonceCounter = 0;

/** A signed command for DEVICE (override the target, times, key…). */
export function command(
  body: CommandBody,
  clock: Clock,
  options: {
    key?: SecretKey;
    target?: Command['target'];
    issuedAtMs?: number;
    expiresAtMs?: number;
    nonce?: Uint8Array;
    reason?: string;
  } = {},
): Uint8Array {
  const nonce =
    options.nonce ?? crypto.createHash('sha256').update(`nonce-${nonceCounter++}`).digest().subarray(0, 16);
  const issuedAtMs = options.issuedAtMs ?? clock.ms;
  const c: Command = {
    ...body,
    target: options.target ?? { fleet: DEVICE.fleet, devices: null, cohort: null },
    nonce: Uint8Array.from(nonce),
    issuedAtMs,
    expiresAtMs: options.expiresAtMs ?? issuedAtMs + 3600_000,
    issuer: 'Erin Release <erin@acme.example>',
    reason: options.reason ?? 'test',
  };
  return signCommand(c, signerFor(options.key ?? KEYS.release));
}

let resultIndex = 0;

/** A result as a runner would produce it, for evidence tests. */
export function result(
  manifestSha256: string,
  status: ResultStatus,
  options: {
    shadow?: boolean;
    latencyMs?: number;
    streamId?: string;
    family?: string;
    bundleId?: string;
  } = {},
): WindowResult {
  const index = resultIndex++;
  const family = options.family ?? FAMILY;
  return {
    resultId: `${options.streamId ?? 's1'}:${index}:${family}`,
    deviceId: DEVICE.deviceId,
    streamId: options.streamId ?? 's1',
    windowIndex: index,
    firstCounter: index * 50,
    lastCounter: index * 50 + 199,
    startMs: T0 + index * 1000,
    endMs: T0 + index * 1000 + 4000,
    cohort: '',
    status,
    provenance: {
      bundleId: options.bundleId ?? `${family}@?`,
      modelFamily: family,
      modelVersion: '1.0.0',
      sequence: 1,
      manifestSha256,
      thresholdsVersion: '3',
      postprocessingVersion: '2',
      qualityPolicyVersion: '1',
      fallbackPolicyVersion: '1',
      runtimeVersion: '0.1.0',
      backend: 'node',
    },
    latencyMs: options.latencyMs ?? 3,
    shadow: options.shadow ?? false,
  };
}

export const OK: ResultStatus = { kind: 'ok', score: 0.1, label: 'no_fall', positive: false, alert: false };
export const OK_POSITIVE: ResultStatus = {
  kind: 'ok',
  score: 0.9,
  label: 'fall',
  positive: true,
  alert: true,
};
export const FALLBACK: ResultStatus = {
  kind: 'fallback',
  reason: 'QUALITY_FLATLINE',
  detail: 'flat',
  output: { kind: 'suppressed' },
};
export const OOD: ResultStatus = {
  kind: 'fallback',
  reason: 'OOD_DISTANCE',
  detail: 'far',
  output: { kind: 'suppressed' },
};
export const INFERENCE_ERROR: ResultStatus = {
  kind: 'fallback',
  reason: 'INFERENCE_ERROR',
  detail: 'boom',
  output: { kind: 'suppressed' },
};
