import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AccelScenario, ArtifactSpec, SignalKind } from '../../simulator/index.ts';
import {
  ACCEL_SCENARIOS,
  SIGNAL_KINDS,
  SimulatorError,
  parseArtifactSpec,
  simulateSignal,
  toCbor,
  toCsv,
} from '../../simulator/index.ts';
import { CliError } from './cli-error.ts';
import { registerSimulateFleet } from './simulate-fleet.ts';

interface SignalFlags {
  kind?: string;
  seconds?: string;
  seed?: string;
  rhythm?: string;
  artifact: string[];
  cohort?: string;
  rate?: string;
  activity?: string;
  clean?: boolean;
  out?: string;
}

function bad(message: string): never {
  throw new CliError('BAD_ARGUMENT', message);
}

function number(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) bad(`--${name} must be a number, got "${raw}"`);
  return v;
}

/** Thin adapter: parse flags, call simulator/, write the file. */
function runSignal(flags: SignalFlags): void {
  if (flags.kind === undefined) bad(`--kind is required (${SIGNAL_KINDS.join('|')})`);
  const kind = SIGNAL_KINDS.find((k) => k === flags.kind);
  if (kind === undefined) bad(`--kind must be one of ${SIGNAL_KINDS.join('|')}, got "${flags.kind}"`);
  const seconds = number('seconds', flags.seconds) ?? bad('--seconds is required');
  const seedRaw = flags.seed ?? bad('--seed is required');
  const seed = /^\d+$/.test(seedRaw) && Number.isSafeInteger(Number(seedRaw)) ? Number(seedRaw) : seedRaw;
  const out = flags.out ?? bad('--out is required');
  const format = out.endsWith('.csv')
    ? 'csv'
    : out.endsWith('.cbor')
      ? 'cbor'
      : bad('--out must end in .csv or .cbor');
  if (flags.rhythm !== undefined && flags.rhythm !== 'sinus' && flags.rhythm !== 'af') {
    bad(`--rhythm must be sinus or af, got "${flags.rhythm}"`);
  }
  const activity = flags.activity as AccelScenario | undefined;
  if (activity !== undefined && !ACCEL_SCENARIOS.includes(activity)) {
    bad(`--activity must be one of ${ACCEL_SCENARIOS.join('|')}`);
  }
  const rateHz = number('rate', flags.rate);
  try {
    const artifacts: ArtifactSpec[] = flags.artifact.map(parseArtifactSpec);
    const signal = simulateSignal({
      kind: kind satisfies SignalKind,
      seconds,
      seed,
      artifacts,
      ...(flags.rhythm === 'sinus' || flags.rhythm === 'af' ? { rhythm: flags.rhythm } : {}),
      ...(flags.cohort !== undefined ? { cohort: flags.cohort } : {}),
      ...(rateHz !== undefined ? { rateHz } : {}),
      ...(activity !== undefined ? { activity } : {}),
      ...(flags.clean === true ? { clean: true } : {}),
    });
    writeFileSync(out, format === 'csv' ? toCsv(signal) : toCbor(signal));
  } catch (err) {
    if (err instanceof SimulatorError) throw new CliError('BAD_ARGUMENT', err.message, 2, { cause: err });
    throw err;
  }
}

/** Registers the `vigil simulate` command group. */
export function registerSimulate(program: Command): void {
  const simulate = program
    .command('simulate')
    .description('synthetic physiological signals (seeded, deterministic)');
  simulate
    .command('signal')
    .description('write one simulated signal to a .csv or .cbor file')
    .option('--kind <kind>', `signal kind: ${SIGNAL_KINDS.join('|')}`)
    .option('--seconds <n>', 'duration in seconds')
    .option('--seed <s>', 'seed (non-negative integer or string)')
    .option('--rhythm <rhythm>', 'sinus|af (ecg, ppg, rr)')
    .option(
      '--artifact <spec>',
      'NAME[:k=v,...], repeatable: baseline-wander, powerline, noise, motion, gain-change, clipping, flatline, lead-off, dropout, rate-mismatch',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('--cohort <key>', 'e.g. age=65+;activity=sedentary;placement=wrist')
    .option('--rate <hz>', 'sampling rate (default ecg 250, ppg 64, accel 50)')
    .option('--activity <name>', `accel scenario: ${ACCEL_SCENARIOS.join('|')}`)
    .option('--clean', 'leave out the sensor noise of the cohort (ecg, ppg)')
    .option('--out <file>', 'output file (.csv or .cbor)')
    .action((flags: SignalFlags) => {
      runSignal(flags);
    });
  registerSimulateFleet(simulate);
}
