// `vigil trust init|rotate|revoke|show`: create, update and read the signed trust document.
// Logic lives in runtime/trust; every new version is checked (anchor threshold, or the N → N+1
// rotation rule) before anything is written.
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import {
  ROLE_NAMES,
  bytesToHex,
  isRoleName,
  readPublicKeyFile,
  readSecretKeyFile,
  signerFor,
  type RoleName,
} from '../../models/format/index.ts';
import {
  DEFAULT_RELEASE_POLICY,
  DEFAULT_TRUST_MAX_BYTES,
  TrustStore,
  createTrustDocument,
  nextTrustDocument,
  peekTrustDocument,
  signTrustDocument,
  unsatisfiedRoles,
  type BundleRevocation,
  type ReleasePolicy,
  type TrustDocument,
  type TrustKey,
} from '../../runtime/trust/index.ts';
import { CliError } from './cli-error.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export async function readCapped(file: string, maxBytes: number): Promise<Uint8Array> {
  const stat = await fs.stat(file);
  if (stat.size > maxBytes) throw new CliError('BAD_ARGUMENT', `${file} is larger than ${maxBytes} bytes`);
  return new Uint8Array(await fs.readFile(file));
}

export function parseTime(value: string | undefined, what: string): number {
  if (value === undefined) return Date.now();
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new CliError('BAD_ARGUMENT', `${what} must be an ISO 8601 time, e.g. 2026-01-15T12:00:00Z`);
  return ms;
}

function parseThresholds(values: readonly string[]): Partial<Record<RoleName, number>> {
  const out: Partial<Record<RoleName, number>> = {};
  for (const value of values) {
    const [role, n] = value.split('=');
    const threshold = Number(n);
    if (!isRoleName(role) || !Number.isInteger(threshold) || threshold < 1) {
      throw new CliError(
        'BAD_ARGUMENT',
        `--threshold takes ROLE=N with ROLE one of ${ROLE_NAMES.join(', ')}`,
      );
    }
    out[role] = threshold;
  }
  return out;
}

function parseRootThreshold(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError('BAD_ARGUMENT', '--root-threshold must be a positive integer');
  return n;
}

function parseRequiredRoles(value: string | undefined, current: ReleasePolicy): ReleasePolicy | undefined {
  if (value === undefined) return undefined;
  return { ...current, requiredRoles: value.split(',').map((r) => r.trim()) as RoleName[] };
}

async function trustKeys(files: readonly string[]): Promise<TrustKey[]> {
  const keys: TrustKey[] = [];
  for (const file of files) {
    const key = await readPublicKeyFile(file);
    keys.push({ kid: key.kid, role: key.role, alg: 'EdDSA', publicKey: key.publicKey, holder: '' });
  }
  return keys;
}

async function signAndWrite(
  doc: TrustDocument,
  signFiles: readonly string[],
  out: string,
  check: (bytes: Uint8Array) => TrustStore,
): Promise<TrustStore> {
  if (signFiles.length === 0) throw new CliError('BAD_ARGUMENT', 'give at least one --sign ROOT.key');
  const signers = [];
  for (const file of signFiles) signers.push(signerFor(await readSecretKeyFile(file)));
  const bytes = signTrustDocument(doc, signers);
  const store = check(bytes);
  await fs.writeFile(out, bytes);
  return store;
}

function describe(doc: TrustDocument, signers: readonly string[]): string {
  const lines = [`Trust document version ${doc.version}, issued ${new Date(doc.issuedAtMs).toISOString()}`];
  lines.push(`  signed by ${signers.join(', ') || 'nobody'}`);
  lines.push(
    `  root: ${doc.root.threshold} of ${doc.keys
      .filter((k) => k.role === 'root')
      .map((k) => k.kid)
      .join(', ')}`,
  );
  for (const role of ROLE_NAMES) {
    const kids = doc.keys.filter((k) => k.role === role).map((k) => k.kid);
    lines.push(`  ${role.padEnd(10)} ${doc.roles[role].threshold} of [${kids.join(', ')}]`);
  }
  lines.push(`  release policy: approvals by ${doc.releasePolicy.requiredRoles.join(', ')}`);
  for (const scope of doc.releasePolicy.scopes)
    lines.push(`    scope ${scope.name} allows ${scope.allows.join(', ')}`);
  for (const r of doc.revocations.keys)
    lines.push(`  revoked key ${r.kid} (${new Date(r.revokedAtMs).toISOString()}): ${r.reason}`);
  for (const r of doc.revocations.bundles) {
    const what =
      r.by === 'bundleId'
        ? r.bundleId
        : r.by === 'version'
          ? `${r.modelFamily} ${r.version}`
          : `manifest ${r.manifestSha256}`;
    lines.push(`  revoked bundle ${what}: ${r.reason}`);
  }
  const short = unsatisfiedRoles(doc);
  if (short.length > 0)
    lines.push(`  WARNING: no bundle can be approved until keys are added for ${short.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

interface SignOptions {
  readonly sign: string[];
  readonly out: string;
  readonly issuedAt?: string;
}

export function registerTrust(program: Command): void {
  const trust = program
    .command('trust')
    .description('create, rotate, revoke and show the signed trust document');

  trust
    .command('init')
    .description('create trust version 1 from public key files, signed by root keys')
    .requiredOption('--key <pub>', 'a KID.pub file (role from the file); repeat for every key', collect, [])
    .requiredOption(
      '--sign <key>',
      'a root KID.key that signs; repeat to reach the root threshold',
      collect,
      [],
    )
    .requiredOption('--out <file>', 'where to write the trust document (e.g. trust.cbor)')
    .option('--root-threshold <n>', 'root signatures needed for the next version', '1')
    .option('--threshold <role=n>', 'distinct keys needed for a role (default 1); repeatable', collect, [])
    .option(
      '--required-roles <list>',
      'roles that must approve a bundle',
      DEFAULT_RELEASE_POLICY.requiredRoles.join(','),
    )
    .option('--issued-at <iso>', 'issue time (default now)')
    .action(
      async (
        o: SignOptions & { key: string[]; rootThreshold: string; threshold: string[]; requiredRoles: string },
      ) => {
        const doc = createTrustDocument({
          issuedAtMs: parseTime(o.issuedAt, '--issued-at'),
          keys: await trustKeys(o.key),
          rootThreshold: parseRootThreshold(o.rootThreshold) ?? 1,
          thresholds: parseThresholds(o.threshold),
          releasePolicy:
            parseRequiredRoles(o.requiredRoles, DEFAULT_RELEASE_POLICY) ?? DEFAULT_RELEASE_POLICY,
        });
        const store = await signAndWrite(doc, o.sign, o.out, (bytes) => TrustStore.loadAnchor(bytes));
        process.stdout.write(
          `wrote ${o.out} (sha256 ${store.sha256})\n${describe(doc, o.sign.length > 0 ? peekTrustDocument(store.bytes).signers : [])}`,
        );
      },
    );

  trust
    .command('rotate')
    .description('write version N+1 (keys, thresholds, policy), signed by the root thresholds of N and N+1')
    .requiredOption('--trust <file>', 'the current trust document (version N)')
    .requiredOption('--sign <key>', 'a root KID.key (old and/or new); repeat', collect, [])
    .requiredOption('--out <file>', 'where to write version N+1')
    .option('--add-key <pub>', 'add a key from its KID.pub; repeatable', collect, [])
    .option('--remove-key <kid>', 'remove a key (without revoking it); repeatable', collect, [])
    .option('--root-threshold <n>', 'new root threshold')
    .option('--threshold <role=n>', 'new role threshold; repeatable', collect, [])
    .option('--required-roles <list>', 'new list of roles that must approve a bundle')
    .option('--issued-at <iso>', 'issue time (default now)')
    .action(
      async (
        o: SignOptions & {
          trust: string;
          addKey: string[];
          removeKey: string[];
          rootThreshold?: string;
          threshold: string[];
          requiredRoles?: string;
        },
      ) => {
        const current = TrustStore.loadAnchor(await readCapped(o.trust, DEFAULT_TRUST_MAX_BYTES));
        const rootThreshold = parseRootThreshold(o.rootThreshold);
        const releasePolicy = parseRequiredRoles(o.requiredRoles, current.document.releasePolicy);
        const next = nextTrustDocument(current.document, {
          issuedAtMs: parseTime(o.issuedAt, '--issued-at'),
          addKeys: await trustKeys(o.addKey),
          removeKids: o.removeKey,
          thresholds: parseThresholds(o.threshold),
          ...(rootThreshold === undefined ? {} : { rootThreshold }),
          ...(releasePolicy === undefined ? {} : { releasePolicy }),
        });
        const store = await signAndWrite(next, o.sign, o.out, (bytes) => current.acceptUpdate(bytes));
        process.stdout.write(
          `wrote ${o.out}: version ${current.version} → ${store.version} (sha256 ${store.sha256})\n`,
        );
      },
    );

  trust
    .command('revoke')
    .description('write version N+1 revoking a key or a bundle, signed by root keys')
    .requiredOption('--trust <file>', 'the current trust document')
    .requiredOption('--sign <key>', 'a root KID.key; repeat to reach the thresholds', collect, [])
    .requiredOption('--out <file>', 'where to write version N+1')
    .requiredOption('--reason <text>', 'why (kept in the document and shown on every rejection)')
    .option('--key-id <kid>', 'revoke this key')
    .option('--bundle-id <id>', 'revoke the bundle with this id')
    .option('--family <family>', 'with --version: revoke this family and version')
    .option('--version <semver>', 'with --family')
    .option('--manifest <sha256>', 'revoke the bundle with this manifest SHA-256')
    .option('--issued-at <iso>', 'issue time (default now)')
    .action(
      async (
        o: SignOptions & {
          trust: string;
          reason: string;
          keyId?: string;
          bundleId?: string;
          family?: string;
          version?: string;
          manifest?: string;
        },
      ) => {
        const current = TrustStore.loadAnchor(await readCapped(o.trust, DEFAULT_TRUST_MAX_BYTES));
        const at = parseTime(o.issuedAt, '--issued-at');
        const bundles: BundleRevocation[] = [];
        if (o.bundleId !== undefined)
          bundles.push({ by: 'bundleId', bundleId: o.bundleId, revokedAtMs: at, reason: o.reason });
        if (o.family !== undefined || o.version !== undefined) {
          if (o.family === undefined || o.version === undefined)
            throw new CliError('BAD_ARGUMENT', '--family and --version go together');
          bundles.push({
            by: 'version',
            modelFamily: o.family,
            version: o.version,
            revokedAtMs: at,
            reason: o.reason,
          });
        }
        if (o.manifest !== undefined)
          bundles.push({ by: 'manifest', manifestSha256: o.manifest, revokedAtMs: at, reason: o.reason });
        const keys = o.keyId === undefined ? [] : [{ kid: o.keyId, reason: o.reason }];
        if (keys.length + bundles.length === 0) {
          throw new CliError(
            'BAD_ARGUMENT',
            'say what to revoke: --key-id, --bundle-id, --family/--version or --manifest',
          );
        }
        const next = nextTrustDocument(current.document, {
          issuedAtMs: at,
          revokeKeys: keys,
          revokeBundles: bundles,
        });
        const store = await signAndWrite(next, o.sign, o.out, (bytes) => current.acceptUpdate(bytes));
        process.stdout.write(
          `wrote ${o.out}: version ${store.version} revokes ${[...keys.map((k) => `key ${k.kid}`), ...bundles.map((b) => b.by)].join(', ')}\n`,
        );
      },
    );

  trust
    .command('show')
    .description('print a trust document (and check it against its own root threshold)')
    .requiredOption('--trust <file>', 'the trust document')
    .option('--json', 'machine-readable output')
    .action(async (o: { trust: string; json?: boolean }) => {
      const bytes = await readCapped(o.trust, DEFAULT_TRUST_MAX_BYTES);
      const store = TrustStore.loadAnchor(bytes);
      const { signers } = peekTrustDocument(bytes);
      if (o.json === true) {
        const doc = store.document;
        process.stdout.write(
          `${JSON.stringify(
            {
              ...doc,
              sha256: store.sha256,
              signers,
              keys: doc.keys.map((k) => ({ ...k, publicKey: bytesToHex(k.publicKey) })),
              revocations: {
                ...doc.revocations,
                keys: doc.revocations.keys.map((r) => ({ ...r, publicKey: bytesToHex(r.publicKey) })),
              },
              unsatisfiedRoles: unsatisfiedRoles(doc),
            },
            null,
            2,
          )}\n`,
        );
        return;
      }
      process.stdout.write(`${describe(store.document, signers)}  sha256 ${store.sha256}\n`);
    });
}
