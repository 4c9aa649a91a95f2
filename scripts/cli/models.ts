// `vigil models build [--check] [--model NAME]`: regenerates the reference models from simulator
// data (models/reference/<name>/): model.onnx, profile.json, evidence.json, build.json and the lock
// file that pins the SHA-256 of every deterministic artifact. `--check` rebuilds in memory and
// compares with the committed lock instead of writing.
import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from './cli-error.ts';
import {
  REFERENCE_MODELS,
  buildAndWriteReference,
  checkReferenceLock,
  referenceDir,
} from '../models/reference-build.ts';

export function registerModels(program: Command): void {
  const models = program.command('models').description('reference models: reproducible build');
  models
    .command('build')
    .description('retrain the reference models from simulator data and write their artifacts')
    .option('--model <name>', `only this model (${REFERENCE_MODELS.map((m) => m.spec.name).join(', ')})`)
    .option('--check', 'rebuild in memory and compare with the committed lock file; write nothing')
    .action(async (options: { model?: string; check?: boolean }) => {
      const chosen = REFERENCE_MODELS.filter(
        (m) => options.model === undefined || m.spec.name === options.model,
      );
      if (chosen.length === 0)
        throw new CliError('BAD_ARGUMENT', `no reference model named ${options.model ?? ''}`);
      let mismatches = 0;
      for (const entry of chosen) {
        const started = performance.now();
        if (options.check === true) {
          const diff = await checkReferenceLock(entry);
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          if (diff.length === 0) {
            process.stdout.write(`${entry.spec.name}: rebuild matches the lock (${seconds} s)\n`);
          } else {
            mismatches += diff.length;
            for (const line of diff) process.stdout.write(`${entry.spec.name}: MISMATCH ${line}\n`);
          }
          continue;
        }
        const result = await buildAndWriteReference(entry);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        const dir = path.relative(process.cwd(), referenceDir(entry.spec.name));
        process.stdout.write(
          `${entry.spec.name}: wrote ${dir} in ${seconds} s — test sensitivity ` +
            `${result.evidence.summary.testSet.sensitivity.toFixed(3)}, specificity ` +
            `${result.evidence.summary.testSet.specificity.toFixed(3)}, AUC ` +
            `${result.evidence.summary.testSet.rocAuc.toFixed(3)}; acceptance ` +
            `${result.evidence.summary.allPassed ? 'PASSED' : 'FAILED'}\n`,
        );
        for (const criterion of result.evidence.summary.acceptance) {
          process.stdout.write(
            `   ${criterion.passed ? '✓' : '✗'} ${criterion.metric} ${criterion.comparator} ${criterion.threshold}` +
              ` (observed ${criterion.observed.toFixed(4)})\n`,
          );
        }
        if (!result.evidence.summary.allPassed) mismatches += 1;
      }
      if (mismatches > 0) {
        throw new CliError(
          'FAILED',
          options.check === true ? 'the rebuild differs from the lock' : 'acceptance failed',
          1,
        );
      }
    });
}
