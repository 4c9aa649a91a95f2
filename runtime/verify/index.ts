// Public API of bundle verification: the chain (verifyBundle), its inputs (device state, policy) and
// the staging helpers the lifecycle uses around it (extract, re-check at activation).
export {
  verifyBundle,
  verifyBundleFile,
  DEFAULT_VERIFY_POLICY,
  type VerifyBundleOptions,
  type VerifyPolicy,
  type VerifiedBundle,
  type VerifiedApproval,
  type SkippedCheck,
} from './verify.ts';
export type { VerificationTarget, InstalledFamily } from './state.ts';
export { extractVerifiedBundle, recheckStagedBundle, readStagedFile } from './staging.ts';
export { validatePreprocessingWithOps } from './preprocessing.ts';
