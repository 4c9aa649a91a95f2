// `vigil simulate fleet`: a fleet of real device daemons with simulated wearers, driven by a scenario
// file against any MQTT broker (Mosquitto, Aedes, …). Also the helpers `vigil demo` shares (scenario
// loading, running and the summary). Logic: simulator/fleet (scenarios, wearers, runner) and
// scripts/demo (devices, links, updates, collector, checks).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ScenarioError, checkReferences, parseScenario, type Scenario } from '../../simulator/fleet/index.ts';
import { prepareFleet, runFleetDemo, summaryLines, type FleetDemoResult } from '../demo/fleet-demo.ts';
import { CliError } from './cli-error.ts';

export const SCENARIO_DIR = fileURLToPath(new URL('../../simulator/fleet/scenarios/', import.meta.url));

/** The scenarios shipped with Vigil (file names without `.json`). */
export function shippedScenarios(): string[] {
  return fs
    .readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** A scenario file, or the name of a shipped one (`demo`, `quiet-fleet`, …). */
export function loadScenario(arg: string): Scenario {
  const shipped = path.join(SCENARIO_DIR, `${arg}.json`);
  const file = /^[a-z0-9-]+$/.test(arg) && fs.existsSync(shipped) ? shipped : arg;
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (error) {
    throw new CliError('NOT_FOUND', `no scenario ${arg} (shipped: ${shippedScenarios().join(', ')})`, 2, {
      cause: error,
    });
  }
  if (size > 1024 * 1024) throw new CliError('TOO_LARGE', `${file} is larger than 1 MiB`, 2);
  try {
    return parseScenario(new Uint8Array(fs.readFileSync(file)));
  } catch (error) {
    if (error instanceof ScenarioError)
      throw new CliError(error.code, `${file}: ${error.message}`, 2, { cause: error });
    throw error;
  }
}

/** Refuses a fleet size the scenario cannot run with, before anything starts. */
export function checkFleetSize(scenario: Scenario, devices: number | undefined): void {
  if (devices === undefined) return;
  try {
    checkReferences(scenario, devices);
  } catch (error) {
    if (error instanceof ScenarioError) {
      throw new CliError(
        error.code,
        `scenario ${scenario.name} with --devices ${devices}: ${error.message}`,
        2,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

export function positiveInt(value: string | undefined, flag: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new CliError('BAD_ARGUMENT', `${flag} must be an integer in [1, ${max}]`);
  return n;
}

export function parseHttp(value: string): { host: string; port: number } {
  const m = /^(127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65_535)
    throw new CliError('BAD_ARGUMENT', '--http takes HOST:PORT on loopback, e.g. 127.0.0.1:8080');
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/**
 * Ctrl-C handling: the first SIGINT/SIGTERM aborts the run (and ends a `next()` wait, e.g. the
 * dashboard kept up after the summary); one more while the run is still stopping exits at once.
 */
export function interruptions(out: (line: string) => void): {
  readonly signal: AbortSignal;
  next(): Promise<void>;
  dispose(): void;
} {
  const controller = new AbortController();
  let waiter: (() => void) | null = null;
  const onSignal = (): void => {
    if (waiter !== null) {
      waiter();
      waiter = null;
      if (!controller.signal.aborted) controller.abort();
      return;
    }
    if (!controller.signal.aborted) {
      out(
        '\nCtrl-C: stopping cleanly (devices drain their outboxes, sign a last checkpoint)… (again to quit at once)',
      );
      controller.abort();
      return;
    }
    out('\nCtrl-C again: quitting without waiting.');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    next: () =>
      new Promise<void>((resolve) => {
        waiter = resolve;
      }),
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Prints the summary; exit code 1 when a checked expectation failed (not after Ctrl-C). */
export function reportSummary(result: FleetDemoResult, out: (line: string) => void): number {
  for (const line of summaryLines(result)) out(line);
  const failed = result.checks.filter((c) => c.ok === false);
  if (result.run.aborted) return 0;
  return failed.length > 0 ? 1 : 0;
}

interface FleetFlags {
  readonly scenario?: string;
  readonly mqtt?: string;
  readonly devices?: string;
  readonly duration?: string;
  readonly dir: string;
  readonly prepare?: boolean;
  readonly collectorDb?: string;
  readonly collector?: boolean;
  readonly http?: string;
  readonly progress: boolean;
}

async function simulateFleet(flags: FleetFlags): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (flags.scenario === undefined)
    throw new CliError('BAD_ARGUMENT', `--scenario is required (shipped: ${shippedScenarios().join(', ')})`);
  if (flags.mqtt === undefined)
    throw new CliError('BAD_ARGUMENT', '--mqtt URL is required (the broker the devices use)');
  if (!/^(mqtts?|tcp|ssl):\/\/\S+$/.test(flags.mqtt))
    throw new CliError('BAD_ARGUMENT', '--mqtt must be an mqtt:// URL');
  const scenario = loadScenario(flags.scenario);
  const devices = positiveInt(flags.devices, '--devices', 200);
  checkFleetSize(scenario, devices);
  const durationS = positiveInt(flags.duration, '--duration', 86_400);
  const runDir = path.resolve(flags.dir);
  const demoDir = path.join(runDir, 'demo-keys');
  if (flags.prepare === true) {
    await prepareFleet({
      scenario,
      demoDir,
      runDir,
      brokerUrl: flags.mqtt,
      ...(devices === undefined ? {} : { devices }),
      ...(flags.collectorDb === undefined ? {} : { collectorDb: path.resolve(flags.collectorDb) }),
      out,
    });
    out(`Prepared ${runDir}: bundles in bundles/, signed enrolment records in enrolments/ (DEMO field key).`);
    out('At a collector (before it starts):');
    out(
      `  vigil collector profile add ${path.join(runDir, 'bundles', '<bundle>.vbundle')} --db collector.db --trust ${path.join(demoDir, 'trust.cbor')}`,
    );
    out(
      `  vigil device enroll --db collector.db --trust ${path.join(demoDir, 'trust.cbor')} --fleet ${scenario.fleet} --record ${path.join(runDir, 'enrolments', '<device>.cose')}`,
    );
    out(
      `Then: vigil simulate fleet --scenario ${flags.scenario} --mqtt ${flags.mqtt} --dir ${flags.dir}${devices === undefined ? '' : ` --devices ${devices}`}`,
    );
    return;
  }
  const stop = interruptions(out);
  try {
    const result = await runFleetDemo({
      scenario,
      demoDir,
      runDir,
      reuse: true,
      brokerUrl: flags.mqtt,
      collector:
        flags.collector === true ? { http: flags.http === undefined ? null : parseHttp(flags.http) } : null,
      ...(devices === undefined ? {} : { devices }),
      ...(durationS === undefined ? {} : { durationS }),
      out,
      progressBar: flags.progress && process.stdout.isTTY,
      signal: stop.signal,
    });
    try {
      if (result.dashboardUrl !== null) out(`Dashboard: ${result.dashboardUrl}/`);
      const code = reportSummary(result, out);
      if (code !== 0)
        throw new CliError('CHECK_FAILED', 'an expectation of the scenario failed (see the summary)', code);
    } finally {
      await result.close();
    }
  } finally {
    stop.dispose();
  }
}

/** Registers `vigil simulate fleet` on the `simulate` command group. */
export function registerSimulateFleet(simulate: Command): void {
  simulate
    .command('fleet')
    .description(
      'a fleet of real device daemons with simulated wearers, driven by a scenario, on any MQTT broker',
    )
    .option(
      '--scenario <file>',
      'scenario file, or a shipped scenario name (demo, quiet-fleet, broker-outage, bad-update, population-shift)',
    )
    .option('--mqtt <url>', 'broker URL (Mosquitto or any MQTT 3.1.1/5 broker)')
    .option('--devices <n>', "fleet size (default: the scenario's)")
    .option('--duration <s>', "run time in seconds (default: the scenario's)")
    .option('--dir <path>', 'run directory (device state, bundles, enrolment records, logs)', '.vigil/fleet')
    .option('--prepare', 'only build the bundles, device keys and signed enrolment records, then exit')
    .option(
      '--collector-db <file>',
      'with --prepare: also enrol the devices and register the bundles in this collector database',
    )
    .option('--collector', 'also run a collector in this process (its database in the run directory)')
    .option('--http <host:port>', 'with --collector: serve the dashboard here')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: FleetFlags) => {
      await simulateFleet(flags);
    });
}
