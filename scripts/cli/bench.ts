// `vigil bench [NAME…]`: runs every bench/*.bench.ts (or the named ones) and writes
// bench/results/latest.jsonl, one JSON object per figure.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { meetsGoal, toRecord, type BenchModule } from '../../bench/harness.ts';
import { CliError } from './cli-error.ts';

const BENCH_DIR = fileURLToPath(new URL('../../bench/', import.meta.url));

function isBenchModule(value: unknown): value is BenchModule {
  const candidate = value as Partial<BenchModule> | null;
  return typeof candidate?.name === 'string' && typeof candidate.run === 'function';
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks and write bench/results/latest.jsonl')
    .argument('[names...]', 'only these benchmarks (file names without .bench.ts)')
    .action(async (names: string[]) => {
      const files = fs
        .readdirSync(BENCH_DIR)
        .filter((f) => f.endsWith('.bench.ts'))
        .filter((f) => names.length === 0 || names.includes(f.replace(/\.bench\.ts$/, '')))
        .sort();
      if (files.length === 0) throw new CliError('NOT_FOUND', `no benchmarks match ${names.join(', ')}`);
      const outDir = path.join(BENCH_DIR, 'results');
      fs.mkdirSync(outDir, { recursive: true });
      const outFile = path.join(outDir, 'latest.jsonl');
      fs.writeFileSync(outFile, '');
      for (const file of files) {
        const mod: unknown = await import(pathToFileURL(path.join(BENCH_DIR, file)).href);
        if (!isBenchModule(mod)) throw new CliError('FAILED', `${file} does not export name and run`);
        process.stdout.write(`\n== ${mod.name}\n`);
        const figures = await mod.run((line) => process.stdout.write(`   ${line}\n`));
        for (const figure of figures) {
          const record = toRecord(figure, new Date());
          fs.appendFileSync(outFile, `${JSON.stringify(record)}\n`);
          const verdict = meetsGoal(figure.value, figure.goal);
          const mark = verdict === null ? ' ' : verdict ? '✓' : '✗';
          process.stdout.write(
            ` ${mark} ${figure.bench} ${figure.metric} = ${figure.value} ${figure.unit}` +
              `${figure.goal ? ` (goal ${figure.goal})` : ''} vs ${figure.baseline}\n`,
          );
        }
      }
      process.stdout.write(`\nwrote ${path.relative(process.cwd(), outFile)}\n`);
    });
}
