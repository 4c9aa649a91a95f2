// The catalogue of named, versioned ops, keyed by `name@version`. A manifest names ops from here;
// anything else is rejected when the bundle is verified (compilePreprocessing), never at run time.
// Changing what an op computes, a default or a feature name means adding a new version.
import { OpError } from './types.ts';
import type { OpImplementation } from './types.ts';
import { accelFeaturesOp, activityLevelOp } from './catalogue/accel.ts';
import { detrendOp, normalizeOp, resampleOp } from './catalogue/conditioning.ts';
import { ecgSqiOp, panTompkinsOp } from './catalogue/ecg.ts';
import {
  butterBandpassOp,
  butterHighpassOp,
  butterLowpassOp,
  firBandpassOp,
  notchOp,
} from './catalogue/filters.ts';
import { ppgTemplateSqiOp, pulsePeaksOp } from './catalogue/ppg.ts';
import { rrFeaturesOp, rrIntervalsOp } from './catalogue/rr.ts';
import { concatFeatures, magnitude, selectChannels, selectFeatures } from './catalogue/structure.ts';

const ALL: readonly OpImplementation[] = [
  selectChannels,
  magnitude,
  butterLowpassOp,
  butterHighpassOp,
  butterBandpassOp,
  notchOp,
  firBandpassOp,
  detrendOp,
  normalizeOp,
  resampleOp,
  panTompkinsOp,
  pulsePeaksOp,
  rrIntervalsOp,
  rrFeaturesOp,
  accelFeaturesOp,
  activityLevelOp,
  ecgSqiOp,
  ppgTemplateSqiOp,
  concatFeatures,
  selectFeatures,
];

/** A read-only view of a Map that cannot be mutated through a cast. */
class ReadOnlyCatalogue implements ReadonlyMap<string, OpImplementation> {
  readonly #map: Map<string, OpImplementation>;
  constructor(entries: readonly OpImplementation[]) {
    this.#map = new Map(entries.map((op) => [op.key, op]));
    if (this.#map.size !== entries.length) throw new Error('internal: duplicate op key in catalogue');
    Object.freeze(this);
  }
  get size(): number {
    return this.#map.size;
  }
  get(key: string): OpImplementation | undefined {
    return this.#map.get(key);
  }
  has(key: string): boolean {
    return this.#map.has(key);
  }
  forEach(
    cb: (value: OpImplementation, key: string, map: ReadonlyMap<string, OpImplementation>) => void,
  ): void {
    this.#map.forEach((v, k) => {
      cb(v, k, this);
    });
  }
  entries(): MapIterator<[string, OpImplementation]> {
    return this.#map.entries();
  }
  keys(): MapIterator<string> {
    return this.#map.keys();
  }
  values(): MapIterator<OpImplementation> {
    return this.#map.values();
  }
  [Symbol.iterator](): MapIterator<[string, OpImplementation]> {
    return this.#map.entries();
  }
}

export const OP_CATALOGUE: ReadonlyMap<string, OpImplementation> = new ReadOnlyCatalogue(ALL);

const NAMES = new Set(ALL.map((op) => op.name));

/** The op `name@version`; OpError UNKNOWN_OP (no such name) or UNKNOWN_VERSION (name known). */
export function lookupOp(name: string, version: number): OpImplementation {
  if (!NAMES.has(name)) {
    throw new OpError('UNKNOWN_OP', `unknown preprocessing op ${JSON.stringify(name.slice(0, 64))}`);
  }
  const op = Number.isSafeInteger(version) ? OP_CATALOGUE.get(`${name}@${version}`) : undefined;
  if (op === undefined) {
    const known = ALL.filter((o) => o.name === name)
      .map((o) => o.version)
      .join(', ');
    throw new OpError(
      'UNKNOWN_VERSION',
      `${name} has no version ${String(version).slice(0, 32)} (known: ${known})`,
    );
  }
  return op;
}
