// Persisted split assignment and dataset identity (issue 2 §3: "a persisted split key; train /
// validation / test never regenerated implicitly").
//
// assignSplit hashes (splitKey, exampleId) with SHA-256 and maps the first 48 bits to u ∈ [0, 1):
// u < train → train, u < train + validation → validation, else test. An example's split depends
// only on the key and its own id, never on dataset order or size, so adding examples never moves
// existing ones between splits.
import { createHash } from 'node:crypto';
import { TrainingError } from './errors.ts';

export type SplitName = 'train' | 'validation' | 'test';

export interface SplitFractions {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

const TWO_POW_48 = 2 ** 48;

export function checkSplitFractions(fractions: SplitFractions): void {
  const { train, validation, test } = fractions;
  for (const v of [train, validation, test]) {
    if (!(v >= 0 && v <= 1)) throw new TrainingError('BAD_SPLIT', `split fraction ${v} not in [0, 1]`);
  }
  if (Math.abs(train + validation + test - 1) > 1e-9) {
    throw new TrainingError('BAD_SPLIT', `split fractions sum to ${train + validation + test}, not 1`);
  }
}

/** u ∈ [0, 1) from SHA-256("vigil-split-v1" 0x00 splitKey 0x00 exampleId). */
export function splitUniform(splitKey: string, exampleId: string): number {
  const digest = createHash('sha256')
    .update('vigil-split-v1\u0000', 'utf8')
    .update(splitKey, 'utf8')
    .update('\u0000', 'utf8')
    .update(exampleId, 'utf8')
    .digest();
  return digest.readUIntBE(0, 6) / TWO_POW_48;
}

export function assignSplit(splitKey: string, exampleId: string, fractions: SplitFractions): SplitName {
  checkSplitFractions(fractions);
  if (splitKey.length === 0) throw new TrainingError('BAD_SPLIT', 'split key is empty');
  const u = splitUniform(splitKey, exampleId);
  if (u < fractions.train) return 'train';
  if (u < fractions.train + fractions.validation) return 'validation';
  return 'test';
}

/** Row indices per split for a list of example ids (ids must be unique). */
export function splitIndices(
  splitKey: string,
  exampleIds: readonly string[],
  fractions: SplitFractions,
): Readonly<Record<SplitName, readonly number[]>> {
  const seen = new Set<string>();
  const out: Record<SplitName, number[]> = { train: [], validation: [], test: [] };
  exampleIds.forEach((id, index) => {
    if (seen.has(id)) throw new TrainingError('BAD_DATA', `duplicate example id ${id}`);
    seen.add(id);
    out[assignSplit(splitKey, id, fractions)].push(index);
  });
  return out;
}

export interface DatasetSnapshot {
  readonly featureNames: readonly string[];
  readonly ids: readonly string[];
  /** Row-major [n, F]. */
  readonly x: Float64Array;
  readonly y: Uint8Array;
  /** Optional cohort label per example (part of the hash when present). */
  readonly cohorts?: readonly string[];
}

/**
 * SHA-256 over a canonical serialisation, in the given row order (training order matters, so a
 * reordered dataset is a different snapshot):
 *   "vigil-dataset-v1" ‖ u32 F ‖ F × str(name) ‖ u32 n ‖ u8 hasCohorts ‖
 *   n × ( str(id) ‖ u8 label ‖ F × f64le(value) ‖ [str(cohort)] )
 * where str(s) = u32 byte length ‖ UTF-8 bytes, integers are big-endian, and every NaN is written
 * as the canonical quiet NaN 0x7ff8000000000000.
 */
export function datasetSnapshotSha256(snapshot: DatasetSnapshot): string {
  const f = snapshot.featureNames.length;
  const n = snapshot.ids.length;
  if (snapshot.x.length !== n * f || snapshot.y.length !== n) {
    throw new TrainingError('BAD_DATA', 'snapshot arrays do not match ids × features');
  }
  if (snapshot.cohorts !== undefined && snapshot.cohorts.length !== n) {
    throw new TrainingError('BAD_DATA', 'snapshot cohorts do not match ids');
  }
  const hash = createHash('sha256');
  const u32 = Buffer.alloc(4);
  const f64 = Buffer.alloc(8);
  const writeU32 = (v: number): void => {
    u32.writeUInt32BE(v, 0);
    hash.update(u32);
  };
  const writeStr = (s: string): void => {
    const bytes = Buffer.from(s, 'utf8');
    writeU32(bytes.length);
    hash.update(bytes);
  };
  hash.update('vigil-dataset-v1', 'utf8');
  writeU32(f);
  for (const name of snapshot.featureNames) writeStr(name);
  writeU32(n);
  hash.update(Uint8Array.of(snapshot.cohorts === undefined ? 0 : 1));
  for (let r = 0; r < n; r++) {
    writeStr(snapshot.ids[r] ?? '');
    hash.update(Uint8Array.of(snapshot.y[r] ?? 0));
    for (let j = 0; j < f; j++) {
      const v = snapshot.x[r * f + j] ?? Number.NaN;
      if (Number.isNaN(v)) {
        f64.writeUInt32LE(0, 0); // 0x7ff8000000000000, little-endian
        f64.writeUInt32LE(0x7ff80000, 4);
      } else {
        f64.writeDoubleLE(v, 0);
      }
      hash.update(f64);
    }
    if (snapshot.cohorts !== undefined) writeStr(snapshot.cohorts[r] ?? '');
  }
  return hash.digest('hex');
}
