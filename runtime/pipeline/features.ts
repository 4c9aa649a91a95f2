// The bridge between a window and the model's feature vector, and the reference the OOD check
// compares features with. Implementations come from the manifest's preprocessing plan and profile.
import type { Window } from './types.ts';

export type FeatureOutcome =
  | { readonly kind: 'features'; readonly values: Float64Array; readonly named: ReadonlyMap<string, number> }
  | { readonly kind: 'invalid'; readonly detail: string };

export interface FeatureExtractor {
  /** Model input order. */
  readonly names: readonly string[];
  extract(window: Window): FeatureOutcome;
}

/** Per-feature reference support and moments, from the bundle's reference profile. */
export interface FeatureReference {
  readonly names: readonly string[];
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly mean: Float64Array;
  readonly sd: Float64Array;
}
