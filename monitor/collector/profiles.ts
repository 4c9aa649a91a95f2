// Reference profiles prepared for fleet analytics, keyed by the SHA-256 of the profile file that
// reports carry (`model.profileSha256`). A profile arrives with a verified bundle (`vigil collector
// profile add X.vbundle`) or as a registered profile file; it is parsed with models/profile's
// untrusted-input parser either way, and prepared once (edges, references, null tables).
import crypto from 'node:crypto';
import { ProfileError, parseProfile, type ReferenceProfile } from '../../models/profile/index.ts';
import {
  StatsError,
  parseNullThresholdTable,
  prepareReference,
  type NullThresholdTable,
  type PreparedReference,
} from '../stats/index.ts';
import type { AggregateShape } from './aggregate.ts';
import { CollectorError } from './errors.ts';

export interface PreparedVariable {
  /** Features 0…F−1, then the score at F (the report's drift index convention). */
  readonly index: number;
  readonly name: string;
  readonly edges: Float64Array;
  readonly reference: PreparedReference;
  readonly table: NullThresholdTable;
  /** The reference's own counts in the m + 3 layout: the second sample of the two-sample test. */
  readonly referenceCounts: Float64Array;
  /** Reference observations in the ordered bins (NaN excluded). */
  readonly referenceN: number;
  readonly mean: number;
  readonly sd: number;
}

export interface PreparedProfile {
  readonly profileSha256: string;
  readonly profile: ReferenceProfile;
  readonly variables: readonly PreparedVariable[];
  readonly featureCount: number;
  readonly shape: AggregateShape;
  /** Smallest n of the null tables' grid: fewer observations are not tested. */
  readonly minN: number;
  readonly scoreEdges: Float64Array;
}

export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** Parses a profile file's bytes (JSON) field by field. Throws CollectorError('BAD_PROFILE'). */
export function parseProfileBytes(bytes: Uint8Array): ReferenceProfile {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new CollectorError('BAD_PROFILE', 'the profile is not JSON', { cause });
  }
  try {
    return parseProfile(value);
  } catch (cause) {
    if (cause instanceof ProfileError) {
      throw new CollectorError('BAD_PROFILE', `the profile is invalid: ${cause.message}`, { cause });
    }
    throw cause;
  }
}

function prepareVariable(ref: ReferenceProfile['score'], index: number, path: string): PreparedVariable {
  try {
    const referenceCounts = Float64Array.from(ref.counts);
    let referenceN = 0;
    for (let i = 0; i < referenceCounts.length - 1; i++) referenceN += referenceCounts[i] as number;
    return {
      index,
      name: ref.name,
      edges: Float64Array.from(ref.edges),
      reference: prepareReference({ edges: ref.edges, proportions: ref.proportions, sd: ref.sd }),
      table: parseNullThresholdTable(ref.nullThresholds),
      referenceCounts,
      referenceN,
      mean: ref.mean,
      sd: ref.sd,
    };
  } catch (cause) {
    if (cause instanceof StatsError) {
      throw new CollectorError('BAD_PROFILE', `${path}: ${cause.message}`, { cause });
    }
    throw cause;
  }
}

export function prepareProfile(profileSha256: string, profile: ReferenceProfile): PreparedProfile {
  const variables = profile.features.map((f, i) => prepareVariable(f, i, `features[${i}]`));
  variables.push(prepareVariable(profile.score, profile.features.length, 'score'));
  return {
    profileSha256,
    profile,
    variables,
    featureCount: profile.features.length,
    shape: {
      featureLengths: profile.features.map((f) => f.edges.length + 2),
      scoreLength: profile.score.edges.length + 2,
    },
    minN: Math.min(...profile.nullModel.sampleSizes),
    scoreEdges: Float64Array.from(profile.score.edges),
  };
}

/** Prepared profiles by SHA-256, prepared lazily and cached. */
export class ProfileCache {
  private readonly prepared = new Map<string, PreparedProfile>();

  constructor(private readonly load: (profileSha256: string) => ReferenceProfile | null) {}

  get(profileSha256: string): PreparedProfile | null {
    const hit = this.prepared.get(profileSha256);
    if (hit) return hit;
    const profile = this.load(profileSha256);
    if (profile === null) return null;
    const p = prepareProfile(profileSha256, profile);
    this.prepared.set(profileSha256, p);
    return p;
  }

  invalidate(profileSha256: string): void {
    this.prepared.delete(profileSha256);
  }
}
