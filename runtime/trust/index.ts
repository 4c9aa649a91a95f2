// Public API of the trust store: the signed, versioned trust document (keys, roles, thresholds,
// release policy, revocations), its rotation, role-bound signature checks, and device enrolment.
export { TrustError, type TrustErrorCode } from './errors.ts';
export {
  TRUST_CONTENT_TYPE,
  TRUST_FORMAT_VERSION,
  DEFAULT_RELEASE_POLICY,
  parseTrustDocument,
  checkCoherent,
  encodeTrustDocument,
  createTrustDocument,
  nextTrustDocument,
  unsatisfiedRoles,
  type TrustDocument,
  type TrustKey,
  type RoleRule,
  type ScopeRule,
  type ReleasePolicy,
  type KeyRevocation,
  type BundleRevocation,
  type NewTrustDocument,
  type TrustChanges,
} from './document.ts';
export {
  TrustStore,
  signTrustDocument,
  peekTrustDocument,
  findBundleRevocation,
  DEFAULT_TRUST_MAX_BYTES,
  type TrustOptions,
} from './store.ts';
export {
  ENROLMENT_CONTENT_TYPE,
  DeviceKeyRing,
  parseDeviceEnrolment,
  signDeviceEnrolment,
  verifyDeviceEnrolment,
  type DeviceEnrolment,
} from './enrolment.ts';
