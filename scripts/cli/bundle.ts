// `vigil bundle build|approve|verify|inspect`: package, approve, check and explain signed model bundles.
// Logic lives in models/format (bundle, summary) and runtime/verify (the device's verification chain).
import type { Command } from 'commander';
import {
  BundleError,
  DEPLOYMENT_STAGES,
  REVIEWER_PATTERN,
  approveBundle,
  buildBundle,
  isDeploymentStage,
  isRoleName,
  readBundleInfo,
  readSecretKeyFile,
  renderSummary,
  signerFor,
  summarizeBundle,
  withFileSource,
  type BundleFileInput,
  type BundleInfo,
  type DeploymentStage,
  type DeviceClass,
  type VerificationStatus,
} from '../../models/format/index.ts';
import { DEFAULT_TRUST_MAX_BYTES, TrustStore } from '../../runtime/trust/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';
import {
  validatePreprocessingWithOps,
  verifyBundle,
  type VerifiedBundle,
} from '../../runtime/verify/index.ts';
import { CliError } from './cli-error.ts';
import { parseTime, readCapped } from './trust.ts';

const SPEC_MAX_BYTES = 1024 * 1024;
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function parseStage(value: string): DeploymentStage {
  if (!isDeploymentStage(value))
    throw new CliError('BAD_ARGUMENT', `--stage must be one of ${DEPLOYMENT_STAGES.join(', ')}`);
  return value;
}

function parseDeviceClass(value: string | undefined): DeviceClass | null {
  if (value === undefined) return null;
  const [vendorId, classId, ...rest] = value.split('/');
  if (
    vendorId === undefined ||
    classId === undefined ||
    vendorId === '' ||
    classId === '' ||
    rest.length > 0
  ) {
    throw new CliError('BAD_ARGUMENT', '--device-class takes VENDOR/CLASS, e.g. acme-medical/wrist-gw-2');
  }
  return { vendorId, classId };
}

async function readSpec(file: string): Promise<unknown> {
  const text = new TextDecoder().decode(await readCapped(file, SPEC_MAX_BYTES));
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError('BAD_ARGUMENT', `${file} is not valid JSON`, 2, { cause: err });
  }
}

function specPath(spec: unknown, key: 'file' | 'profileFile' | 'evidenceFile'): string | undefined {
  const model = (spec as { model?: Record<string, unknown> } | null)?.model;
  const value = model?.[key];
  return typeof value === 'string' ? value : undefined;
}

interface VerifyArgs {
  readonly trust: string;
  readonly stage: string;
  readonly deviceClass?: string;
  readonly runtimeVersion?: string;
  readonly at?: string;
}

async function verifyOffline(bundle: string, o: VerifyArgs): Promise<VerifiedBundle> {
  const store = TrustStore.loadAnchor(await readCapped(o.trust, DEFAULT_TRUST_MAX_BYTES));
  const now = parseTime(o.at, '--at');
  return withFileSource(bundle, (source) =>
    verifyBundle(source, {
      trust: store,
      stage: parseStage(o.stage),
      now: () => now,
      target: {
        kind: 'offline',
        deviceClass: parseDeviceClass(o.deviceClass),
        runtimeVersion: o.runtimeVersion ?? null,
      },
    }),
  );
}

export function registerBundle(program: Command): void {
  const bundle = program
    .command('bundle')
    .description('build, approve, verify and inspect signed model bundles');

  bundle
    .command('build')
    .description('package a model with its spec, profile and evidence into a .vbundle')
    .requiredOption('--spec <file>', 'bundle.json (the manifest without computed fields)')
    .requiredOption('--model <file>', 'the ONNX model')
    .option('--profile <file>', 'the reference profile (required when the spec names one)')
    .option('--evidence <file>', 'the evidence file (required when the spec names one)')
    .option('--file <path=src>', 'another file to carry, at PATH inside the bundle; repeatable', collect, [])
    .requiredOption('--out <file>', 'the .vbundle to write')
    .option('--key <file>', 'a build-role KID.key: signs the package (without it: an unsigned draft)')
    .option(
      '--builder <name>',
      'who built it, NAME <EMAIL> (with --key)',
      'vigil bundle build <build@localhost>',
    )
    .option('--created-at <iso>', 'creation time (default now; fix it for reproducible bundles)')
    .action(
      async (o: {
        spec: string;
        model: string;
        profile?: string;
        evidence?: string;
        file: string[];
        out: string;
        key?: string;
        builder: string;
        createdAt?: string;
      }) => {
        const spec = await readSpec(o.spec);
        const files: BundleFileInput[] = [];
        const given: [key: 'file' | 'profileFile' | 'evidenceFile', src: string | undefined, flag: string][] =
          [
            ['file', o.model, '--model'],
            ['profileFile', o.profile, '--profile'],
            ['evidenceFile', o.evidence, '--evidence'],
          ];
        for (const [key, src, flag] of given) {
          const inside = specPath(spec, key);
          if (inside === undefined) throw new CliError('BAD_ARGUMENT', `the spec names no model.${key}`);
          if (src === undefined)
            throw new CliError('BAD_ARGUMENT', `the spec names ${inside}; give it with ${flag}`);
          files.push({ path: inside, file: src });
        }
        for (const extra of o.file) {
          const at = extra.indexOf('=');
          if (at <= 0) throw new CliError('BAD_ARGUMENT', '--file takes PATH=SRC');
          files.push({ path: extra.slice(0, at), file: extra.slice(at + 1) });
        }
        let build: { signer: ReturnType<typeof signerFor>; reviewer: string } | undefined;
        if (o.key !== undefined) {
          const key = await readSecretKeyFile(o.key);
          if (key.role !== 'build')
            throw new BundleError(
              'ROLE_MISMATCH',
              `${key.kid} is a ${key.role} key; packaging needs a build key`,
            );
          build = { signer: signerFor(key), reviewer: o.builder };
        }
        const built = await buildBundle({
          spec,
          files,
          createdAtMs: parseTime(o.createdAt, '--created-at'),
          out: o.out,
          validatePreprocessing: validatePreprocessingWithOps,
          ...(build === undefined ? {} : { build }),
        });
        process.stdout.write(
          `built ${o.out}: ${built.manifest.bundleId} (sequence ${built.manifest.sequence})\n` +
            `  manifest sha256 ${built.manifestSha256}\n` +
            `  ${build === undefined ? 'unsigned draft; ' : 'signed by build key; '}needs approvals before it can be installed\n`,
        );
      },
    );

  bundle
    .command('approve')
    .description('add one approval (a COSE_Signature) to a bundle')
    .argument('<bundle>', 'the .vbundle')
    .requiredOption('--key <file>', 'your KID.key')
    .requiredOption('--role <role>', 'the role you approve in (must be the role of your key)')
    .requiredOption('--reviewer <name>', 'NAME <EMAIL>')
    .requiredOption('--scope <scope>', 'the widest deployment you approve: shadow, canary or full')
    .option('--out <file>', 'write the approved bundle here (default: update the bundle in place)')
    .option('--trust <file>', 'check first that your key and the scope are valid in this trust document')
    .option('--at <iso>', 'approval time (default now)')
    .action(
      async (
        file: string,
        o: {
          key: string;
          role: string;
          reviewer: string;
          scope: string;
          out?: string;
          trust?: string;
          at?: string;
        },
      ) => {
        if (!isRoleName(o.role)) throw new CliError('BAD_ARGUMENT', `--role ${o.role} is not a role`);
        if (!REVIEWER_PATTERN.test(o.reviewer))
          throw new CliError('BAD_ARGUMENT', '--reviewer must be NAME <EMAIL>');
        const key = await readSecretKeyFile(o.key);
        if (key.role !== o.role) {
          throw new BundleError(
            'ROLE_MISMATCH',
            `${key.kid} is a ${key.role} key; it cannot approve as ${o.role}`,
          );
        }
        if (o.trust !== undefined) {
          const store = TrustStore.loadAnchor(await readCapped(o.trust, DEFAULT_TRUST_MAX_BYTES));
          if (store.keyRevocation(key.kid) !== undefined) {
            throw new BundleError('REVOKED_KEY', `${key.kid} has been revoked`);
          }
          if (store.key(key.kid)?.role !== o.role) {
            throw new BundleError(
              'UNKNOWN_KEY',
              `${key.kid} is not a ${o.role} key in trust version ${store.version}`,
            );
          }
          if (store.scope(o.scope) === undefined) {
            throw new CliError('BAD_ARGUMENT', `--scope ${o.scope} is not a scope of the release policy`);
          }
        }
        const info = await approveBundle({
          bundle: file,
          ...(o.out === undefined ? {} : { out: o.out }),
          signer: signerFor(key),
          role: o.role,
          reviewer: o.reviewer,
          scope: o.scope,
          timeMs: parseTime(o.at, '--at'),
        });
        process.stdout.write(
          `${o.reviewer} approved ${info.manifest.bundleId} as ${o.role} for ${o.scope}\n` +
            `  approvals now: ${info.approvals.map((a) => `${a.role}(${a.scope ?? '—'})`).join(', ')}\n`,
        );
      },
    );

  bundle
    .command('verify')
    .description('run the verification chain against a trust document; exit 0 only when valid')
    .argument('<bundle>', 'the .vbundle')
    .requiredOption('--trust <file>', 'the trust document (trust.cbor)')
    .option('--device-class <vendor/class>', 'check the bundle is made for this device class')
    .option(
      '--runtime-version <semver>',
      `check runtime compatibility (the device runtime is ${RUNTIME_VERSION})`,
    )
    .option('--stage <stage>', 'deployment stage the approvals must cover', 'full')
    .option('--at <iso>', 'clock for expiry checks (default now)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: VerifyArgs & { json?: boolean }) => {
      const v = await verifyOffline(file, o);
      if (o.json === true) {
        process.stdout.write(
          `${JSON.stringify({
            ok: true,
            bundleId: v.manifest.bundleId,
            sequence: v.manifest.sequence,
            manifestSha256: v.manifestSha256,
            stage: v.stage,
            trustVersion: v.trustVersion,
            approvals: v.approvals.map((a) => ({
              kid: a.kid,
              role: a.role,
              reviewer: a.reviewer,
              timeMs: a.timeMs,
              scope: a.scope,
            })),
            checksSkipped: v.checksSkipped,
          })}\n`,
        );
        return;
      }
      process.stdout.write(
        `OK ${v.manifest.bundleId} (sequence ${v.manifest.sequence}) verified for ${v.stage} deployment against trust version ${v.trustVersion}\n` +
          `  approvals: ${v.approvals.map((a) => `${a.role} ${a.reviewer}`).join('; ')}\n` +
          (v.checksSkipped.length > 0
            ? `  not checked without a device: ${v.checksSkipped.join(', ')}\n`
            : ''),
      );
    });

  bundle
    .command('inspect')
    .description('a one-page, plain-language summary for QA, clinical and regulatory reviewers')
    .argument('<bundle>', 'the .vbundle')
    .option('--diff <old>', 'the previous bundle, to show what changed')
    .option('--trust <file>', 'also verify against this trust document')
    .option('--stage <stage>', 'with --trust: the deployment stage', 'full')
    .option('--at <iso>', 'with --trust: clock for expiry checks (default now)')
    .option('--json', 'machine-readable output')
    .action(
      async (
        file: string,
        o: { diff?: string; trust?: string; stage: string; at?: string; json?: boolean },
      ) => {
        const info = await withFileSource(file, (s) => readBundleInfo(s));
        let previous: BundleInfo | undefined;
        if (o.diff !== undefined) previous = await withFileSource(o.diff, (s) => readBundleInfo(s));
        let verification: VerificationStatus = { status: 'unchecked' };
        if (o.trust !== undefined) {
          try {
            const v = await verifyOffline(file, {
              trust: o.trust,
              stage: o.stage,
              ...(o.at === undefined ? {} : { at: o.at }),
            });
            verification = {
              status: 'verified',
              trustVersion: v.trustVersion,
              stage: v.stage,
              checksSkipped: v.checksSkipped,
            };
          } catch (err) {
            if (!(err instanceof BundleError)) throw err;
            verification = { status: 'rejected', code: err.code, message: err.message };
          }
        }
        const summary = summarizeBundle(info, {
          ...(previous === undefined ? {} : { previous }),
          verification,
        });
        process.stdout.write(
          o.json === true ? `${JSON.stringify(summary, null, 2)}\n` : renderSummary(summary),
        );
      },
    );
}
