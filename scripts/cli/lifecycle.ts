// `vigil install | status | rollback | command sign|apply`: the device lifecycle from a field
// engineer's laptop or shell. Logic lives in runtime/lifecycle; this file parses options and prints.
import crypto from 'node:crypto';
import type { Command } from 'commander';
import { HEX_SHA256, readSecretKeyFile, signerFor } from '../../models/format/index.ts';
import {
  COMMAND_KINDS,
  COMMAND_ROLE,
  describeCommand,
  inspectDevice,
  signCommand,
  type BundleSelector,
  type Command as LifecycleCommand,
  type CommandBody,
  type LifecycleStatus,
} from '../../runtime/lifecycle/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';
import { CliError } from './cli-error.ts';
import {
  cliConfig,
  deviceOptions,
  trustComparison,
  trustLine,
  iso,
  openDeviceLifecycle,
  writeFileAtomic,
  type DeviceCliOptions,
} from './device-state.ts';
import { parseTime, readCapped } from './trust.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function short(sha: string): string {
  return `${sha.slice(0, 12)}…`;
}

export function renderStatus(s: LifecycleStatus): string {
  const lines = [
    `Device ${s.deviceId} (fleet ${s.fleet}${s.cohort ? `, cohort ${s.cohort}` : ''})`,
    `  trust version ${s.trust.version} (${short(s.trust.sha256)})`,
    `  frozen: ${s.frozen.frozen ? `yes, since ${iso(s.frozen.sinceMs)} by ${s.frozen.by}: ${s.frozen.reason}` : 'no'}`,
  ];
  if (s.families.length === 0) lines.push('  no model installed');
  for (const f of s.families) {
    lines.push(f.family);
    const a = f.active;
    if (a) {
      const mode =
        a.mode.kind === 'model' ? 'serving' : `DECLARED FALLBACK (${a.mode.reason}: ${a.mode.detail})`;
      const how =
        a.activation.via === 'first-install'
          ? 'first install'
          : a.activation.via === 'promotion'
            ? `promoted (${a.activation.scope}) by ${a.activation.by}`
            : `rollback by ${a.activation.by}`;
      lines.push(
        `  active           ${a.bundle.bundleId}  seq ${a.bundle.sequence}  ${short(a.bundle.manifestSha256)}  ${mode}`,
      );
      lines.push(`                   since ${iso(a.sinceMs)}, ${how}`);
      if (a.probation.kind === 'running') {
        const c = a.probation.counters;
        const verdict =
          a.verdict?.kind === 'breached'
            ? `BREACHED: ${a.verdict.breaches.join('; ')}`
            : (a.verdict?.kind ?? '');
        lines.push(
          `                   probation: ${c.windows} windows, ${c.inferenceErrors} inference errors, ${c.deadlineMisses} deadline misses, ${c.fallbacks} fallbacks, ${c.slowWindows} slow — ${verdict}`,
        );
      } else {
        lines.push('                   probation: none (committed)');
      }
    } else {
      lines.push('  active           —');
    }
    const c = f.candidate;
    if (c) {
      const m = c.promotion.metrics;
      lines.push(
        `  candidate        ${c.bundle.bundleId}  seq ${c.bundle.sequence}  ${short(c.bundle.manifestSha256)}  ${c.stage}, approved for ${c.bundle.approvedFor}, auto-promote ${c.autoPromote ? 'yes' : 'no'}`,
      );
      lines.push(
        `                   shadow: ${m.windows} windows, agreement ${m.agreement.toFixed(4)}, fallback rate ${m.candidateFallbackRate.toFixed(4)} vs ${m.activeFallbackRate.toFixed(4)}, alerts ${c.shadow.candidate.alerts} vs ${c.shadow.active.alerts}`,
      );
      lines.push(
        `                   promotion: ${c.promotion.ready ? 'criteria met' : `waiting — ${c.promotion.unmet.join('; ')}`}`,
      );
    } else {
      lines.push('  candidate        —');
    }
    const l = f.lastKnownGood;
    lines.push(
      `  last-known-good  ${l ? `${l.bundle.bundleId}  seq ${l.bundle.sequence}  ${short(l.bundle.manifestSha256)}` : '—'}`,
    );
  }
  lines.push(`Bundles on the device (${s.bundles.length}):`);
  for (const b of s.bundles) {
    lines.push(
      `  ${b.bundleId.padEnd(28)} ${b.state.padEnd(9)} approved for ${b.approvedFor.padEnd(6)} ${short(b.manifestSha256)}${b.stateDetail ? `  ${b.stateDetail}` : ''}`,
    );
  }
  lines.push(
    `Audit: ${s.audit.records} records, head ${short(s.audit.headHash)}, ${s.audit.checkpoints} signed checkpoints; ${s.revocations} device revocations`,
  );
  lines.push(`Device key: ${s.deviceKey.kid} ${s.deviceKey.publicKey}`);
  return lines.join('\n');
}

function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) throw new CliError('BAD_ARGUMENT', '--expires-in takes e.g. 30m, 2h or 1d');
  const unit = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

interface SignOptions {
  readonly key: string;
  readonly kind: string;
  readonly fleet: string;
  readonly device?: string[];
  readonly cohort?: string;
  readonly family?: string;
  readonly bundle?: string;
  readonly bundleId?: string;
  readonly version?: string;
  readonly force?: boolean;
  readonly reason: string;
  readonly issuer: string;
  readonly expiresIn: string;
  readonly issuedAt?: string;
  readonly out: string;
}

function commandBody(o: SignOptions): CommandBody {
  const needFamily = (): string => {
    if (!o.family) throw new CliError('BAD_ARGUMENT', `--kind ${o.kind} needs --family`);
    return o.family;
  };
  switch (o.kind) {
    case 'promote': {
      if (!o.bundle || !HEX_SHA256.test(o.bundle)) {
        throw new CliError(
          'BAD_ARGUMENT',
          'promote needs --bundle SHA256 (the candidate manifest digest, see vigil status)',
        );
      }
      return { kind: 'promote', family: needFamily(), bundle: o.bundle, force: o.force === true };
    }
    case 'rollback':
      return { kind: 'rollback', family: needFamily() };
    case 'freeze':
      return { kind: 'freeze' };
    case 'unfreeze':
      return { kind: 'unfreeze' };
    case 'revoke': {
      let selector: BundleSelector;
      if (o.bundle) {
        if (!HEX_SHA256.test(o.bundle))
          throw new CliError('BAD_ARGUMENT', '--bundle must be a manifest SHA-256');
        selector = { by: 'manifest', manifestSha256: o.bundle };
      } else if (o.bundleId) selector = { by: 'bundleId', bundleId: o.bundleId };
      else if (o.version) selector = { by: 'version', modelFamily: needFamily(), version: o.version };
      else
        throw new CliError(
          'BAD_ARGUMENT',
          'revoke needs --bundle SHA256, --bundle-id ID, or --family F --version V',
        );
      return { kind: 'revoke', bundle: selector };
    }
    default:
      throw new CliError('BAD_ARGUMENT', `--kind must be one of ${COMMAND_KINDS.join(', ')}`);
  }
}

export function registerLifecycle(program: Command): void {
  deviceOptions(
    program
      .command('install')
      .argument('<bundle>', 'a .vbundle file')
      .description(
        'install a signed bundle on this device (verified in full; activates or shadows per its policy)',
      ),
  ).action(async (file: string, options: DeviceCliOptions) => {
    const lifecycle = await openDeviceLifecycle(options);
    try {
      const outcome = await lifecycle.install(file, { source: 'local' });
      switch (outcome.kind) {
        case 'activated':
          process.stdout.write(
            `${outcome.bundle.bundleId} installed and ACTIVE (first model of ${outcome.bundle.family}; probation starts)\n`,
          );
          break;
        case 'shadow':
          process.stdout.write(
            `${outcome.bundle.bundleId} installed as candidate, running in SHADOW beside the active model${outcome.superseded ? ` (replaces candidate ${outcome.superseded.bundleId})` : ''}\n`,
          );
          break;
        case 'installed':
          process.stdout.write(
            `${outcome.bundle.bundleId} installed as candidate (approved for ${outcome.bundle.approvedFor}; nothing active to shadow)\n`,
          );
          break;
        case 'duplicate':
          process.stdout.write(
            `${outcome.bundle.bundleId} is already installed (${outcome.slot ?? 'in no slot'}): nothing changed\n`,
          );
          break;
        case 'rejected':
          throw new CliError(outcome.code, `rejected: ${outcome.detail}`, 1);
      }
    } finally {
      await lifecycle.close();
    }
  });

  deviceOptions(
    program
      .command('status')
      .option('--json', 'machine-readable output')
      .description('slots, rollout evidence, freeze, trust, audit head'),
    { trust: 'compare' },
  ).action(async (options: DeviceCliOptions & { json?: boolean }) => {
    const config = await cliConfig(options);
    const inspection = inspectDevice(config.dataDir, RUNTIME_VERSION);
    try {
      const status = inspection.status();
      const trustFile = await trustComparison(options.trust, status.trust);
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(trustFile ? { ...status, trustFile } : status, null, 2)}\n`);
      } else {
        process.stdout.write(`${renderStatus(status)}\n`);
        if (trustFile) process.stdout.write(`${trustLine(trustFile, status.trust.version)}\n`);
      }
    } finally {
      inspection.close();
    }
  });

  deviceOptions(
    program
      .command('rollback')
      .requiredOption('--family <family>', 'model family to roll back')
      .requiredOption('--reason <text>', 'why (kept in the audit trail)')
      .option('--yes', 'confirm: switch the family back to its last known good bundle now')
      .description('roll a family back to its last known good bundle (local, audited; a safety event)'),
  ).action(async (options: DeviceCliOptions & { family: string; reason: string; yes?: boolean }) => {
    if (options.yes !== true) {
      throw new CliError(
        'CONFIRMATION_REQUIRED',
        'a rollback switches the model serving patients: add --yes to confirm',
      );
    }
    const lifecycle = await openDeviceLifecycle(options);
    try {
      const outcome = await lifecycle.rollback(options.family, { reason: options.reason });
      if (outcome.kind === 'rejected') throw new CliError(outcome.code, outcome.detail, 1);
      process.stdout.write(`${outcome.effect}\n`);
    } finally {
      await lifecycle.close();
    }
  });

  const command = program
    .command('command')
    .description('signed lifecycle commands (COSE_Sign1 by a release key)');
  command
    .command('sign')
    .description('sign a promote/rollback/freeze/unfreeze/revoke command for devices of a fleet')
    .requiredOption('--key <file>', 'release key (KID.key, mode 0600)')
    .requiredOption('--kind <kind>', COMMAND_KINDS.join(' | '))
    .requiredOption('--fleet <fleet>', 'target fleet')
    .option('--device <id>', 'target device (repeat; none: the whole fleet or cohort)', collect)
    .option('--cohort <cohort>', 'target cohort')
    .option('--family <family>', 'model family (promote, rollback, revoke by version)')
    .option('--bundle <sha256>', 'manifest SHA-256 (promote: the candidate; revoke: the bundle)')
    .option('--bundle-id <id>', 'revoke by bundle id')
    .option('--version <version>', 'revoke by family and version')
    .option('--force', 'promote although the shadow evidence has not met the rollout policy')
    .requiredOption('--reason <text>', 'why (kept in every device audit trail)')
    .requiredOption('--issuer <who>', 'NAME <EMAIL> of the person issuing it')
    .option('--expires-in <duration>', 'validity (s, m, h, d)', '1h')
    .option('--issued-at <time>', 'ISO 8601 issue time (default now)')
    .requiredOption('--out <file>', 'where to write the signed command')
    .action(async (options: SignOptions) => {
      const key = await readSecretKeyFile(options.key);
      if (key.role !== COMMAND_ROLE) {
        throw new CliError(
          'BAD_ARGUMENT',
          `${key.kid} is a ${key.role} key; commands are signed by ${COMMAND_ROLE} keys`,
        );
      }
      const issuedAtMs = parseTime(options.issuedAt, '--issued-at');
      const body = commandBody(options);
      const full: LifecycleCommand = {
        ...body,
        target: {
          fleet: options.fleet,
          devices: options.device && options.device.length > 0 ? options.device : null,
          cohort: options.cohort ?? null,
        },
        nonce: new Uint8Array(crypto.randomBytes(16)),
        issuedAtMs,
        expiresAtMs: issuedAtMs + parseDuration(options.expiresIn),
        issuer: options.issuer,
        reason: options.reason,
      };
      const bytes = signCommand(full, signerFor(key));
      await writeFileAtomic(options.out, bytes);
      process.stdout.write(
        `${describeCommand(full)}\n  signed by ${key.kid} (${key.role}), valid until ${iso(full.expiresAtMs)}\n  written to ${options.out} (${bytes.length} bytes)\n`,
      );
    });

  deviceOptions(
    command
      .command('apply')
      .argument('<file>', 'a signed command (from vigil command sign)')
      .description('apply a signed command on this device (local; checked and audited like one from MQTT)'),
  ).action(async (file: string, options: DeviceCliOptions) => {
    const bytes = await readCapped(file, 64 * 1024);
    const lifecycle = await openDeviceLifecycle(options);
    try {
      const outcome = await lifecycle.applyCommand(bytes, { via: 'local' });
      if (outcome.kind === 'rejected')
        throw new CliError(outcome.code, `command rejected: ${outcome.detail}`, 1);
      process.stdout.write(`accepted (${outcome.kid}): ${outcome.effect}\n`);
    } finally {
      await lifecycle.close();
    }
  });
}
