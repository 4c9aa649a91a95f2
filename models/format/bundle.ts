// Bundle operations shared by the CLI (build, approve, inspect) and the device (open, check files).
// Nothing here decides trust: which keys count, roles, thresholds and device state live in
// runtime/trust and runtime/verify.
import fs from 'node:fs/promises';
import { decodeCbor } from './cbor/decode.ts';
import { fromCbor } from './cbor/value.ts';
import {
  APPROVAL_CRITICAL,
  MANIFEST_CONTENT_TYPE,
  approvalHeader,
  parseApproval,
  type Approval,
} from './approval.ts';
import {
  readContainerHeader,
  writeContainer,
  DEFAULT_BUNDLE_LIMITS,
  type BundleLimits,
  type ContainerHeader,
  type ContainerFileInput,
} from './container.ts';
import { decodeSign, encodeSign, signBody, signSigner, type DecodedSign, type Signer } from './cose.ts';
import { bytesToHex, digestsEqual, hexToBytes, sha256, sha256OfFile, sha256OfRange } from './digest.ts';
import { BundleError, asBundleError } from './errors.ts';
import type { FileEntry, Manifest } from './manifest.ts';
import { parseManifest } from './manifest-parse.ts';
import type { RoleName } from './roles.ts';
import { DEFAULT_CHUNK_BYTES, openFileSource, withFileSource, type ByteSource } from './source.ts';
import { encodeManifest, manifestFromSpec } from './spec.ts';

export interface OpenedBundle {
  readonly header: ContainerHeader;
  readonly cose: DecodedSign;
}

/**
 * Reads the container header and decodes its COSE_Sign (shape, header rules, content type). Verifies
 * no signature. With `allowUnsigned`, a draft without approvals is returned instead of UNSIGNED.
 */
export async function openBundle(
  source: ByteSource,
  options: { limits?: BundleLimits; allowUnsigned?: boolean } = {},
): Promise<OpenedBundle> {
  const limits = options.limits ?? DEFAULT_BUNDLE_LIMITS;
  const header = await readContainerHeader(source, limits);
  const cose = asBundleError(() =>
    decodeSign(header.cose, {
      maxBytes: limits.maxHeaderBytes,
      understoodCritical: APPROVAL_CRITICAL,
      ...(options.allowUnsigned === true ? { allowUnsigned: true } : {}),
    }),
  );
  if (cose.contentType !== MANIFEST_CONTENT_TYPE) {
    throw new BundleError(
      'WRONG_CONTENT_TYPE',
      `the signed payload is ${String(cose.contentType)}, not a Vigil manifest (${MANIFEST_CONTENT_TYPE})`,
    );
  }
  return { header, cose };
}

/** Deepest nesting a manifest may have (rule expressions and op parameters nest). */
const MANIFEST_MAX_DEPTH = 48;

/** Strictly decodes and parses a manifest payload. Throws BundleError. */
export function decodeManifest(payload: Uint8Array): Manifest {
  const value = asBundleError(() =>
    decodeCbor(payload, { maxBytes: payload.length, maxDepth: MANIFEST_MAX_DEPTH }),
  );
  return parseManifest(fromCbor(value));
}

/**
 * Compares the container index with the signed file list (unlisted, missing, sizes) before hashing
 * anything, then streams every file through SHA-256 and compares digests in constant time.
 */
export async function checkBundleFiles(
  source: ByteSource,
  header: ContainerHeader,
  files: readonly FileEntry[],
): Promise<void> {
  const signed = new Map(files.map((f) => [f.path, f]));
  for (const entry of header.index) {
    if (!signed.has(entry.path)) {
      throw new BundleError(
        'UNLISTED_FILE',
        `the bundle carries ${entry.path}, which the signed manifest does not list`,
      );
    }
  }
  const present = new Map(header.index.map((e) => [e.path, e]));
  for (const file of files) {
    const entry = present.get(file.path);
    if (entry === undefined) {
      throw new BundleError(
        'MISSING_FILE',
        `the signed manifest lists ${file.path}, which the bundle does not carry`,
      );
    }
    if (entry.size !== file.size) {
      throw new BundleError(
        'SIZE_MISMATCH',
        `${file.path} is ${entry.size} bytes; the signed size is ${file.size}`,
      );
    }
  }
  for (const entry of header.index) {
    const file = signed.get(entry.path);
    if (file === undefined) continue;
    const digest = await sha256OfRange(source, entry.offset, entry.size);
    if (!digestsEqual(digest, hexToBytes(file.sha256))) {
      throw new BundleError('DIGEST_MISMATCH', `${entry.path} does not match its signed SHA-256`);
    }
  }
}

export interface BundleInfo {
  readonly manifest: Manifest;
  /** SHA-256 of the manifest payload: the identity of this release in audit records. */
  readonly manifestSha256: string;
  /** Approvals as claimed (not verified against any trust store). */
  readonly approvals: readonly Approval[];
  readonly index: ContainerHeader['index'];
  readonly bundleBytes: number;
}

/** Reads what a bundle claims (for inspect and approve); `checkFiles` also checks the file digests. */
export async function readBundleInfo(
  source: ByteSource,
  options: { checkFiles?: boolean } = {},
): Promise<BundleInfo> {
  const { header, cose } = await openBundle(source, { allowUnsigned: true });
  const manifest = decodeManifest(cose.payload);
  if (options.checkFiles === true) await checkBundleFiles(source, header, manifest.files);
  return {
    manifest,
    manifestSha256: bytesToHex(sha256(cose.payload)),
    approvals: cose.signatures.map(parseApproval),
    index: header.index,
    bundleBytes: source.size,
  };
}

export interface BundleFileInput {
  /** Path inside the bundle, e.g. `model.onnx`. */
  readonly path: string;
  /** Where the bytes are on disk. */
  readonly file: string;
}

export interface BuildBundleInput {
  /** The parsed bundle.json. */
  readonly spec: unknown;
  readonly files: readonly BundleFileInput[];
  readonly createdAtMs: number;
  readonly out: string;
  /** Packages the bundle with a build-role signature; without it the bundle is an unsigned draft. */
  readonly build?: { readonly signer: Signer; readonly reviewer: string };
  /** Checks preprocessing against the op catalogue (throws BundleError UNKNOWN_OP/BAD_PREPROCESSING). */
  readonly validatePreprocessing?: (manifest: Manifest) => void;
}

export interface BuiltBundle {
  readonly manifest: Manifest;
  readonly manifestSha256: string;
  readonly out: string;
}

function fileChunks(file: string): () => AsyncIterable<Uint8Array> {
  return async function* () {
    const source = await openFileSource(file);
    try {
      yield* source.chunks(0, source.size, DEFAULT_CHUNK_BYTES);
    } finally {
      await source.close();
    }
  };
}

/** Builds a .vbundle from a spec and files: digests, manifest, optional build signature, container. */
export async function buildBundle(input: BuildBundleInput): Promise<BuiltBundle> {
  const entries: FileEntry[] = [];
  for (const f of input.files) {
    const { size, sha256: digest } = await sha256OfFile(f.file);
    entries.push({ path: f.path, size, sha256: bytesToHex(digest) });
  }
  const manifest = manifestFromSpec(input.spec, { createdAtMs: input.createdAtMs, files: entries });
  input.validatePreprocessing?.(manifest);
  const payload = encodeManifest(manifest);
  const body = signBody(payload, MANIFEST_CONTENT_TYPE);
  const signers =
    input.build === undefined
      ? []
      : [
          signSigner(
            body,
            input.build.signer,
            approvalHeader({
              role: 'build',
              reviewer: input.build.reviewer,
              timeMs: input.createdAtMs,
              scope: null,
              subject: sha256(payload),
            }),
          ),
        ];
  const files: ContainerFileInput[] = input.files.map((f, i) => ({
    path: f.path,
    size: entries[i]?.size ?? 0,
    chunks: fileChunks(f.file),
  }));
  await writeContainer(input.out, encodeSign(body, signers), files);
  // The files were read twice (digest, then copy): check the copy matches what was signed.
  await withFileSource(input.out, async (source) => {
    const { header } = await openBundle(source, { allowUnsigned: true });
    await checkBundleFiles(source, header, manifest.files);
  }).catch(async (err: unknown) => {
    await fs.rm(input.out, { force: true });
    throw err;
  });
  return { manifest, manifestSha256: bytesToHex(sha256(payload)), out: input.out };
}

export interface ApproveBundleInput {
  readonly bundle: string;
  /** Where to write the approved bundle (default: replace `bundle` atomically). */
  readonly out?: string;
  readonly signer: Signer;
  readonly role: RoleName;
  readonly reviewer: string;
  readonly scope: string | null;
  readonly timeMs: number;
}

/**
 * Adds one approval (a COSE_Signature) to a bundle. The files are checked against the signed
 * manifest first: nobody should approve bytes that are not the ones described.
 */
export async function approveBundle(input: ApproveBundleInput): Promise<BundleInfo> {
  return withFileSource(input.bundle, async (source) => {
    const { header, cose } = await openBundle(source, { allowUnsigned: true });
    const manifest = decodeManifest(cose.payload);
    await checkBundleFiles(source, header, manifest.files);
    if (cose.signatures.some((s) => s.kid === input.signer.kid)) {
      throw new BundleError('DUPLICATE_SIGNER', `key ${input.signer.kid} has already signed this bundle`);
    }
    const body = { bodyProtectedBytes: cose.bodyProtectedBytes, payload: cose.payload };
    const added = signSigner(
      body,
      input.signer,
      approvalHeader({
        role: input.role,
        reviewer: input.reviewer,
        timeMs: input.timeMs,
        scope: input.scope,
        subject: sha256(cose.payload),
      }),
    );
    const signers = [
      ...cose.signatures.map((s) => ({ protectedBytes: s.protectedBytes, signature: s.signature })),
      added,
    ];
    const files: ContainerFileInput[] = header.index.map((e) => ({
      path: e.path,
      size: e.size,
      chunks: () => source.chunks(e.offset, e.size),
    }));
    await writeContainer(input.out ?? input.bundle, encodeSign(body, signers), files);
  }).then(() => withFileSource(input.out ?? input.bundle, (written) => readBundleInfo(written)));
}
