// `vigil demo` (= `npm start`): the whole system on embedded defaults.
import path from 'node:path';
import type { Command } from 'commander';
import { runSingleDeviceDemo } from '../demo/single-device.ts';
import { CliError } from './cli-error.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the demo on embedded defaults (demo keys are created on first run)')
    .option('--dir <path>', 'where demo keys, trust document and bundles live', '.vigil/demo')
    .option('--seconds <n>', 'simulated seconds', '60')
    .option('--seed <n>', 'simulator seed', '7')
    .option('--no-progress', 'no progress bar (for logs)')
    .action(async (options: { dir: string; seconds: string; seed: string; progress: boolean }) => {
      const seconds = Number(options.seconds);
      const seed = Number(options.seed);
      if (!Number.isInteger(seconds) || seconds < 50 || seconds > 600) {
        throw new CliError('BAD_ARGUMENT', '--seconds must be an integer in [50, 600]');
      }
      if (!Number.isSafeInteger(seed) || seed < 0)
        throw new CliError('BAD_ARGUMENT', '--seed must be a non-negative integer');
      const summary = await runSingleDeviceDemo({
        workDir: path.resolve(options.dir),
        seconds,
        seed,
        out: (line) => process.stdout.write(`${line}\n`),
        progress: options.progress && process.stdout.isTTY,
      });
      if (summary.fallDetectedAtS === null || summary.afDetectedAtS === null) {
        throw new CliError('FAILED', 'the demo did not detect the injected events', 1);
      }
    });
}
