// Public API of the bundle format: manifest types and parser, strict deterministic CBOR, COSE_Sign and
// COSE_Sign1 with Ed25519, the .vbundle container, approvals, key files. See docs/bundle-format.md.
//
// COSE_Sign1 for other modules (signed commands, telemetry reports, audit checkpoints):
//
//   const bytes = signSign1({ payload, contentType: 'application/vnd.vigil.report+cbor',
//                             signer: signerFor(await readSecretKeyFile(file)) });
//   // receiving side: keys, roles and revocations come from the trust store (runtime/trust)
//   const { payload, kid } = trustStore.verifyRoleSign1(bytes, { role: 'release', contentType });
//   // or, with any key lookup:  verifySign1(bytes, { resolveKey: (kid) => …, contentType })
//
// Errors: CborError ⊂ CoseError ⊂ BundleError codes (one class per layer, stable string codes).

export type * from './manifest.ts';
export { MANIFEST_FORMAT_VERSION } from './manifest.ts';
export { parseManifest, MANIFEST_LIMITS } from './manifest-parse.ts';
export { manifestFromSpec, encodeManifest, type SpecBuildInputs } from './spec.ts';

export {
  CborError,
  CoseError,
  BundleError,
  KeyFileError,
  type CborErrorCode,
  type CoseErrorCode,
  type BundleErrorCode,
  type KeyFileErrorCode,
} from './errors.ts';

export { decodeCbor, DEFAULT_DECODE_LIMITS, type DecodeOptions } from './cbor/decode.ts';
export { encodeCbor } from './cbor/encode.ts';
export {
  CborTagged,
  toCbor,
  fromCbor,
  isCborMap,
  isCborArray,
  isBytes,
  type CborKey,
  type CborMap,
  type CborValue,
  type PlainValue,
} from './cbor/value.ts';

export {
  defaultEd25519,
  nodeEd25519,
  tweetnaclEd25519,
  selfTest as ed25519SelfTest,
  isCanonicalS,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  type Ed25519,
} from './ed25519.ts';

export {
  TAG_COSE_SIGN,
  TAG_COSE_SIGN1,
  HEADER,
  ALG_EDDSA,
  ALG_ED25519,
  ACCEPTED_ALGS,
  DEFAULT_COSE_LIMITS,
  ed25519Signer,
  decodeSign,
  decodeSign1,
  sigStructure,
  verifySignerOfSign,
  signerProtectedHeader,
  signBody,
  signSigner,
  encodeSign,
  signSign1,
  verifySign1,
  verifySign,
  type HeaderMap,
  type CoseDecodeOptions,
  type Signer,
  type DecodedSigner,
  type DecodedSign,
  type DecodedSign1,
  type SignBody,
  type EncodedSigner,
  type Sign1Input,
  type ResolvedKey,
  type KeyResolver,
  type VerifySign1Options,
  type VerifiedSign1,
  type VerifySignOptions,
} from './cose.ts';

export {
  APPROVAL_LABELS,
  APPROVAL_CRITICAL,
  MANIFEST_CONTENT_TYPE,
  REVIEWER_PATTERN,
  approvalHeader,
  parseApproval,
  type Approval,
  type ApprovalClaims,
} from './approval.ts';

export {
  ROLE_NAMES,
  KEY_ROLES,
  BUNDLE_SIGNER_ROLES,
  DEPLOYMENT_STAGES,
  isKeyRole,
  isRoleName,
  isDeploymentStage,
  type RoleName,
  type KeyRole,
  type DeploymentStage,
} from './roles.ts';

export {
  VBUNDLE_MAGIC,
  CONTAINER_VERSION,
  DEFAULT_BUNDLE_LIMITS,
  readContainerHeader,
  encodeContainerHeader,
  writeContainer,
  type BundleLimits,
  type IndexEntry,
  type ContainerHeader,
  type ContainerFileInput,
} from './container.ts';

export {
  bytesSource,
  openFileSource,
  withFileSource,
  DEFAULT_CHUNK_BYTES,
  type ByteSource,
} from './source.ts';

export {
  sha256,
  sha256Hex,
  sha256OfRange,
  sha256OfFile,
  digestsEqual,
  hexToBytes,
  bytesToHex,
} from './digest.ts';

export {
  pathProblem,
  checkBundlePath,
  checkUniquePaths,
  MAX_PATH_CHARS,
  MAX_PATH_SEGMENTS,
} from './paths.ts';
export { parseSemVer, compareSemVer, inRange, isSemVer, type SemVer } from './semver.ts';
export {
  Fields,
  readString,
  readNumber,
  readInteger,
  readArray,
  HEX_SHA256,
  type FieldFailure,
} from './fields.ts';

export {
  openBundle,
  decodeManifest,
  checkBundleFiles,
  readBundleInfo,
  buildBundle,
  approveBundle,
  type OpenedBundle,
  type BundleInfo,
  type BundleFileInput,
  type BuildBundleInput,
  type BuiltBundle,
  type ApproveBundleInput,
} from './bundle.ts';

export {
  KEY_FILE_FORMAT,
  KID_PATTERN,
  checkKid,
  generateKey,
  keyFilePaths,
  publicKeyJson,
  writeKeyFiles,
  readSecretKeyFile,
  readPublicKeyFile,
  signerFor,
  type PublicKeyInfo,
  type SecretKey,
} from './keyfile.ts';

export {
  summarizeBundle,
  renderSummary,
  diffManifests,
  type BundleSummary,
  type VerificationStatus,
  type Change,
  type ChangeArea,
  type ApprovalLine,
} from './summary.ts';
