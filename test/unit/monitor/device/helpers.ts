// Shared test helpers: the reference models as MonitoredModels, result factories, reference sampling.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SeededRandom } from '../../../../monitor/stats/index.ts';
import { parseProfile, type ReferenceProfile } from '../../../../models/profile/index.ts';
import type {
  MonitoredManifest,
  MonitoredModel,
  MonitoredResult,
  MonitoredStatus,
} from '../../../../monitor/device/index.ts';

const REFERENCE = path.join(import.meta.dirname, '../../../../models/reference');

export type ReferenceName = 'fall-detector' | 'af-screener';

function sha(bytes: Uint8Array | string): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** A reference model with policy overrides (the bundle spec stands in for the signed manifest). */
export function referenceModel(
  name: ReferenceName,
  monitoring: Partial<MonitoredManifest['monitoring']> = {},
  bundleId?: string,
): MonitoredModel {
  const specBytes = fs.readFileSync(path.join(REFERENCE, name, 'bundle.json'));
  const profileBytes = fs.readFileSync(path.join(REFERENCE, name, 'profile.json'));
  const spec = JSON.parse(specBytes.toString('utf8')) as MonitoredManifest;
  const manifest: MonitoredManifest = {
    ...spec,
    bundleId: bundleId ?? spec.bundleId,
    monitoring: { ...spec.monitoring, ...monitoring },
  };
  return {
    manifest,
    manifestSha256: sha(`${specBytes.toString('utf8')}${JSON.stringify(monitoring)}${bundleId ?? ''}`),
    profile: parseProfile(JSON.parse(profileBytes.toString('utf8'))),
    profileSha256: sha(profileBytes),
  };
}

export function profileOf(name: ReferenceName): ReferenceProfile {
  return referenceModel(name).profile;
}

export interface ResultInput {
  readonly bundleId?: string;
  readonly cohort?: string;
  readonly streamId?: string;
  readonly endMs?: number;
  readonly latencyMs?: number;
  readonly shadow?: boolean;
}

export function result(status: MonitoredStatus, input: ResultInput = {}): MonitoredResult {
  return {
    streamId: input.streamId ?? 's1',
    cohort: input.cohort ?? 'c1',
    endMs: input.endMs ?? 0,
    status,
    provenance: { bundleId: input.bundleId ?? 'fall-detector@1.0.0' },
    latencyMs: input.latencyMs ?? 0.2,
    shadow: input.shadow ?? false,
  };
}

export function ok(score: number, threshold: number): MonitoredStatus {
  const positive = score >= threshold;
  return { kind: 'ok', score, label: positive ? 'fall' : 'no-fall', positive };
}

/**
 * A value drawn from a reference variable: a bin by its proportion, then uniform inside it (tails: one
 * bin width beyond the outer edges). `shiftBins` moves the draw that many bins up (drift).
 */
export function drawFromReference(
  random: SeededRandom,
  edges: readonly number[],
  proportions: readonly number[],
  shiftBins = 0,
): number {
  const u = random.uniform();
  let acc = 0;
  let bin = proportions.length - 2; // ordered bins only
  for (let i = 0; i < proportions.length - 1; i++) {
    acc += proportions[i] as number;
    if (u < acc) {
      bin = i;
      break;
    }
  }
  bin = Math.min(edges.length, Math.max(0, bin + shiftBins));
  const m = edges.length - 1;
  const e = (i: number): number => edges[i] as number;
  let lo: number;
  let hi: number;
  if (bin === 0) {
    hi = e(0);
    lo = hi - (e(1) - e(0));
  } else if (bin === m + 1) {
    lo = e(m);
    hi = lo + (e(m) - e(m - 1));
  } else {
    lo = e(bin - 1);
    hi = e(bin);
  }
  return lo + random.uniform() * (hi - lo);
}

export class FakeClock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
}
