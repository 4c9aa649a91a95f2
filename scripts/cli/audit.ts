// `vigil audit verify | export | checkpoint`: check the device's hash-chained audit trail (and the
// signed checkpoints it or the collector holds), export it readable and as JSONL, sign a checkpoint.
// Logic lives in runtime/state and runtime/lifecycle.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { inspectDevice, verifyDeviceAudit } from '../../runtime/lifecycle/index.ts';
import {
  auditJsonLine,
  auditTextLine,
  describeVerdict,
  verifyAuditJsonl,
} from '../../runtime/state/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';
import { CliError } from './cli-error.ts';
import {
  cliConfig,
  deviceOptions,
  openDeviceLifecycle,
  trustComparison,
  trustLine,
  writeFileAtomic,
  type DeviceCliOptions,
} from './device-state.ts';
import { readCapped } from './trust.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');

  deviceOptions(
    audit
      .command('verify')
      .option('--checkpoint <file>', 'a signed checkpoint held elsewhere (repeat)', collect)
      .option('--device-key <file>', "the device's public key file (default: the one in the data directory)")
      .option('--export <file>', 'verify an exported audit.jsonl instead of the device state')
      .description('check every record, link and hash, and that the log still holds each signed checkpoint'),
    { trust: 'compare' },
  ).action(
    async (options: DeviceCliOptions & { checkpoint?: string[]; deviceKey?: string; export?: string }) => {
      if (options.export !== undefined) {
        const verdict = verifyAuditJsonl(await fs.readFile(options.export, 'utf8'));
        process.stdout.write(`${options.export}: ${describeVerdict(verdict)}\n`);
        if (verdict.kind === 'broken') throw new CliError('AUDIT_BROKEN', describeVerdict(verdict), 1);
        return;
      }
      const config = await cliConfig(options);
      const inspection = inspectDevice(config.dataDir, RUNTIME_VERSION);
      try {
        const external: Uint8Array[] = [];
        for (const file of options.checkpoint ?? []) external.push(await readCapped(file, 4096));
        const report = await verifyDeviceAudit(inspection, external, options.deviceKey);
        process.stdout.write(`${config.dataDir}: ${describeVerdict(report.verdict)}\n`);
        const trust = inspection.status().trust;
        const compared = await trustComparison(options.trust, trust);
        if (compared) process.stdout.write(`  ${trustLine(compared, trust.version)}\n`);
        process.stdout.write(`  ${report.checkpointsUsed} signed checkpoint(s) checked against the log\n`);
        for (const problem of report.invalidCheckpoints) process.stdout.write(`  INVALID ${problem}\n`);
        if (report.verdict.kind === 'broken')
          throw new CliError('AUDIT_BROKEN', describeVerdict(report.verdict), 1);
        if (report.invalidCheckpoints.length > 0) {
          throw new CliError(
            'BAD_CHECKPOINT',
            `${report.invalidCheckpoints.length} checkpoint(s) failed verification`,
            1,
          );
        }
      } finally {
        inspection.close();
      }
    },
  );

  deviceOptions(
    audit
      .command('export')
      .option(
        '--out <dir>',
        'write DIR/audit.txt (readable) and DIR/audit.jsonl (machine-readable, re-verifiable)',
      )
      .option('--format <format>', 'print one form to stdout instead: text | jsonl')
      .option('--from <seq>', 'first record', '1')
      .description('export the audit trail'),
    { trust: 'compare' },
  ).action(async (options: DeviceCliOptions & { out?: string; format?: string; from: string }) => {
    const from = Number(options.from);
    if (!Number.isInteger(from) || from < 1)
      throw new CliError('BAD_ARGUMENT', '--from must be a record number');
    if ((options.out === undefined) === (options.format === undefined)) {
      throw new CliError('BAD_ARGUMENT', 'give either --out DIR or --format text|jsonl');
    }
    const config = await cliConfig(options);
    const inspection = inspectDevice(config.dataDir, RUNTIME_VERSION);
    try {
      const text: string[] = [];
      const jsonl: string[] = [];
      for (const row of inspection.rows(from)) {
        text.push(auditTextLine(row));
        jsonl.push(JSON.stringify(auditJsonLine(row)));
      }
      if (options.format !== undefined) {
        if (options.format !== 'text' && options.format !== 'jsonl') {
          throw new CliError('BAD_ARGUMENT', '--format must be text or jsonl');
        }
        process.stdout.write(`${(options.format === 'text' ? text : jsonl).join('\n')}\n`);
        return;
      }
      const dir = options.out ?? '.';
      await fs.mkdir(dir, { recursive: true });
      await writeFileAtomic(path.join(dir, 'audit.txt'), `${text.join('\n')}\n`);
      await writeFileAtomic(path.join(dir, 'audit.jsonl'), `${jsonl.join('\n')}\n`);
      process.stdout.write(
        `${text.length} records → ${path.join(dir, 'audit.txt')}, ${path.join(dir, 'audit.jsonl')}\n`,
      );
    } finally {
      inspection.close();
    }
  });

  deviceOptions(
    audit
      .command('checkpoint')
      .requiredOption('--out <file>', 'where to write the signed checkpoint (COSE_Sign1)')
      .description('sign a checkpoint (record count, head hash) with the device key'),
    { trust: 'apply' },
  ).action(async (options: DeviceCliOptions & { out: string }) => {
    const lifecycle = await openDeviceLifecycle(options);
    try {
      const { checkpoint, signed } = lifecycle.checkpoint();
      await writeFileAtomic(options.out, signed);
      process.stdout.write(
        `checkpoint of ${checkpoint.count} records, head ${checkpoint.headHash}, signed by ${lifecycle.deviceKeyInfo.kid} → ${options.out}\n`,
      );
    } finally {
      await lifecycle.close();
    }
  });
}
