// What the verifier needs to know about the device. The verifier does not own storage: the lifecycle
// reads this from device state (SQLite) and passes it in.
import type { DeviceClass } from '../../models/format/index.ts';
import type { BundleRevocation } from '../trust/index.ts';

export interface InstalledFamily {
  /** The highest sequence ever installed for the family (anti-rollback floor). */
  readonly highestSequence: number;
  /** Every sequence installed so far (precursor checks). */
  readonly sequences: readonly number[];
}

/**
 * Verifying for a device (every check) or offline, e.g. `vigil bundle verify` on a laptop, where
 * anti-rollback and precursor checks are skipped and class/runtime are checked only when given.
 */
export type VerificationTarget =
  | {
      readonly kind: 'device';
      readonly deviceClass: DeviceClass;
      readonly runtimeVersion: string;
      /** Keyed by model family. */
      readonly installed: ReadonlyMap<string, InstalledFamily>;
      /** Revocations the device learnt outside the trust document (e.g. signed commands). */
      readonly revokedBundles?: readonly BundleRevocation[];
    }
  | {
      readonly kind: 'offline';
      readonly deviceClass: DeviceClass | null;
      readonly runtimeVersion: string | null;
    };
