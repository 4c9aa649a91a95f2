// `vigil demo` (= `npm start`): the whole system on embedded defaults — embedded MQTT broker, the
// collector with its dashboard, a fleet of real device daemons with simulated wearers, and a narrated
// scenario (docs/demo.md). `--single` is the first, single-device demo (no broker, no fleet).
import path from 'node:path';
import type { Command } from 'commander';
import { runFleetDemo } from '../demo/fleet-demo.ts';
import { runSingleDeviceDemo } from '../demo/single-device.ts';
import { CliError } from './cli-error.ts';
import {
  checkFleetSize,
  interruptions,
  loadScenario,
  parseHttp,
  positiveInt,
  reportSummary,
} from './simulate-fleet.ts';

interface DemoFlags {
  readonly dir: string;
  readonly scenario: string;
  readonly devices?: string;
  readonly duration?: string;
  readonly headless?: boolean;
  readonly http: string;
  readonly mqtt?: string;
  readonly single?: boolean;
  readonly seconds: string;
  readonly seed: string;
  readonly progress: boolean;
}

async function single(flags: DemoFlags): Promise<void> {
  const seconds = Number(flags.seconds);
  const seed = Number(flags.seed);
  if (!Number.isInteger(seconds) || seconds < 50 || seconds > 600) {
    throw new CliError('BAD_ARGUMENT', '--seconds must be an integer in [50, 600]');
  }
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new CliError('BAD_ARGUMENT', '--seed must be a non-negative integer');
  const summary = await runSingleDeviceDemo({
    workDir: path.resolve(flags.dir),
    seconds,
    seed,
    out: (line) => process.stdout.write(`${line}\n`),
    progress: flags.progress && process.stdout.isTTY,
  });
  if (summary.fallDetectedAtS === null || summary.afDetectedAtS === null) {
    throw new CliError('FAILED', 'the demo did not detect the injected events', 1);
  }
}

async function fleet(flags: DemoFlags): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const scenario = loadScenario(flags.scenario);
  const devices = positiveInt(flags.devices, '--devices', 200);
  checkFleetSize(scenario, devices);
  const durationS = positiveInt(flags.duration, '--duration', 86_400);
  const http = parseHttp(flags.http);
  const headless = flags.headless === true;
  const stop = interruptions(out);
  try {
    const result = await runFleetDemo({
      scenario,
      demoDir: path.resolve(flags.dir),
      collector: { http },
      ...(flags.mqtt === undefined ? {} : { brokerUrl: flags.mqtt }),
      ...(devices === undefined ? {} : { devices }),
      ...(durationS === undefined ? {} : { durationS }),
      out,
      progressBar: !headless && flags.progress && process.stdout.isTTY,
      signal: stop.signal,
      onReady: (url) => {
        if (url !== null) out(`\n  ▶ Dashboard: ${url}/  (open it now: it follows the fleet live)\n`);
      },
    });
    let code = 0;
    try {
      code = reportSummary(result, out);
      if (!headless && !result.run.aborted && result.dashboardUrl !== null) {
        out(`\nThe dashboard stays up at ${result.dashboardUrl}/ — press Ctrl-C to stop.`);
        await stop.next();
      }
    } finally {
      await result.close();
    }
    out('Stopped.');
    if (headless && code !== 0)
      throw new CliError('CHECK_FAILED', 'an expectation of the scenario failed (see the summary)', code);
  } finally {
    stop.dispose();
  }
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole system on embedded defaults: MQTT broker, collector + dashboard, a fleet of devices and a narrated scenario (DEMO keys are created on first run)',
    )
    .option('--dir <path>', "demo keys (kept) and this run's state", '.vigil/demo')
    .option(
      '--scenario <file>',
      'scenario file or shipped name (demo, quiet-fleet, broker-outage, bad-update, population-shift)',
      'demo',
    )
    .option('--devices <n>', "fleet size (default: the scenario's, 20 for the demo)")
    .option('--duration <s>', "run time in seconds (default: the scenario's)")
    .option('--headless', 'unattended: no progress bar, exit after the summary (exit 1 if a check failed)')
    .option('--http <host:port>', 'dashboard address (another free port if taken)', '127.0.0.1:8080')
    .option('--mqtt <url>', 'use this broker instead of the embedded Aedes')
    .option('--single', 'the single-device demo instead (one wearer, no broker)')
    .option('--seconds <n>', 'with --single: simulated seconds', '60')
    .option('--seed <n>', 'with --single: simulator seed', '7')
    .option('--no-progress', 'no progress bar (for logs)')
    .action(async (flags: DemoFlags) => {
      if (flags.single === true) await single(flags);
      else await fleet(flags);
    });
}
