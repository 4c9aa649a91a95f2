// A bundle spec (`bundle.json`) is the manifest minus what the build computes: formatVersion,
// createdAtMs, expiresAtMs (from `validityDays`) and files (sizes and digests of the given files).
import { BundleError } from './errors.ts';
import { readNumber } from './fields.ts';
import type { FileEntry, Manifest } from './manifest.ts';
import { parseManifest } from './manifest-parse.ts';
import { encodeCbor } from './cbor/encode.ts';
import { toCbor } from './cbor/value.ts';

const COMPUTED = ['formatVersion', 'createdAtMs', 'expiresAtMs', 'files'] as const;
const DAY_MS = 86_400_000;

export interface SpecBuildInputs {
  readonly createdAtMs: number;
  readonly files: readonly FileEntry[];
}

/** Builds and validates the manifest of a spec. Throws BundleError (BAD_MANIFEST, BAD_PATH…). */
export function manifestFromSpec(spec: unknown, inputs: SpecBuildInputs): Manifest {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new BundleError('BAD_MANIFEST', 'spec must be a JSON object');
  }
  const record = spec as Record<string, unknown>;
  for (const key of COMPUTED) {
    if (Object.hasOwn(record, key)) {
      throw new BundleError(
        'BAD_MANIFEST',
        `spec.${key} is computed by the build and must not be in the spec`,
      );
    }
  }
  const validityDays = readNumber(
    record.validityDays,
    'spec.validityDays',
    (path, message) => {
      throw new BundleError('BAD_MANIFEST', `${path} ${message}`);
    },
    { above: 0, max: 3650 },
  );
  const rest = Object.fromEntries(Object.entries(record).filter(([key]) => key !== 'validityDays'));
  return parseManifest({
    formatVersion: 1,
    ...rest,
    createdAtMs: inputs.createdAtMs,
    expiresAtMs: inputs.createdAtMs + Math.round(validityDays * DAY_MS),
    files: inputs.files,
  });
}

/** The deterministic CBOR of a manifest (RFC 8949 §4.2.1); optional extension fields go back on top. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const { extensions, ...fields } = manifest;
  return encodeCbor(toCbor({ ...(extensions ?? {}), ...fields }));
}
