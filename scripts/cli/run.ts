// `vigil run`: the device daemon for one real device — the runtime (lifecycle, pipeline, audit, black
// box) behind the firmware bridge, the drift monitor and the MQTT telemetry and update transport, wired
// by scripts/demo/device-node.ts. Runs until SIGINT/SIGTERM, then stops cleanly (last checkpoint,
// outbox drained when the broker is reachable). Logs are pino JSON lines on stderr; stdout gets one
// `ready` line (for supervisors and the demo, which starts a device this way to cut its power).
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import pino from 'pino';
import { ConfigError, resolveConfig, type RuntimeConfig } from '../../runtime/config.ts';
import { bridgeTransports, DeviceNode } from '../demo/device-node.ts';
import { CliError } from './cli-error.ts';
import { cliConfig, deviceOptions, type DeviceCliOptions } from './device-state.ts';
import { readCapped } from './trust.ts';

interface RunOptions extends DeviceCliOptions {
  readonly install?: string[];
  readonly mqtt?: string;
  readonly socket?: string;
  readonly device?: string;
  readonly fleet?: string;
  readonly firmware?: string;
  readonly json?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The config file (or defaults) with the command line's overrides, validated field by field. */
async function runConfig(options: RunOptions): Promise<RuntimeConfig> {
  const base = await cliConfig(options);
  const overrides: Record<string, unknown> = {};
  if (options.mqtt !== undefined) overrides.mqttUrl = options.mqtt;
  if (options.socket !== undefined) overrides.bridgeSocket = options.socket;
  if (options.device !== undefined) overrides.deviceId = options.device;
  if (options.fleet !== undefined) overrides.fleet = options.fleet;
  if (options.cohort !== undefined) overrides.cohort = options.cohort;
  if (options.firmware !== undefined) overrides.firmwareVersion = options.firmware;
  try {
    return resolveConfig(overrides, base);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.code, error.message, 2, { cause: error });
    throw error;
  }
}

async function run(options: RunOptions): Promise<void> {
  const config = await runConfig(options);
  const log = pino({ name: 'vigil-run', base: { daemon: config.deviceId } }, pino.destination(2));
  const trust = options.trust === undefined ? undefined : await readCapped(options.trust, 1024 * 1024);
  const node = await DeviceNode.start({
    config,
    ...(trust ? { trust, trustSource: options.trust } : {}),
    ...(process.env.VIGIL_MQTT_PASSWORD === undefined
      ? {}
      : { mqttPassword: process.env.VIGIL_MQTT_PASSWORD }),
    logger: log,
    events: {
      onLinkState: (state) => {
        log.info({ event: 'mqtt.state', state: state.kind }, 'broker link');
      },
    },
  });
  for (const file of options.install ?? []) {
    await fs.access(file).catch((error: unknown) => {
      throw new CliError('NOT_FOUND', `${file} not found`, 2, { cause: error });
    });
    const outcome = await node.daemon.install(file, { source: 'local' });
    log.info({ event: 'install', file, outcome: outcome.kind }, 'install');
    if (outcome.kind === 'rejected') process.stderr.write(`vigil run: ${file} rejected: ${outcome.code}\n`);
  }
  await node.daemon.waitForModels();
  const socket = bridgeTransports(config)
    .map((t) => (t.kind === 'unix' ? t.path : t.kind === 'tcp' ? `${t.host}:${t.port}` : 'stdio'))
    .join(', ');
  const models = node.daemon.runtime
    .status()
    .models.map((m) => m.bundleId)
    .join(', ');
  const ready = {
    event: 'ready',
    device: config.deviceId,
    fleet: config.fleet,
    bridge: socket,
    mqtt: config.mqttUrl,
    models,
    pid: process.pid,
  };
  process.stdout.write(
    options.json === true
      ? `${JSON.stringify(ready)}\n`
      : `vigil run: ${config.deviceId} ready · bridge ${socket} · ${config.mqttUrl ?? 'no broker (outbox only)'} · models ${models || 'none'}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  log.info({ event: 'stopping' }, 'stopping');
  await node.close();
}

export function registerRun(program: Command): void {
  deviceOptions(
    program
      .command('run')
      .description(
        'the device daemon: runtime + firmware bridge + drift monitor + MQTT telemetry and updates (until Ctrl-C)',
      ),
  )
    .option('--install <file>', 'install this bundle at start if it is not installed (repeat)', collect)
    .option('--mqtt <url>', "broker URL (overrides the config's mqttUrl)")
    .option('--socket <path>', 'firmware bridge Unix socket (overrides bridgeSocket)')
    .option('--device <id>', 'device id (overrides deviceId)')
    .option('--fleet <id>', 'fleet (overrides fleet)')
    .option('--firmware <version>', 'firmware version reported in telemetry (overrides firmwareVersion)')
    .option('--json', 'print the ready line as JSON')
    .action(async (options: RunOptions) => {
      await run(options);
    });
}
