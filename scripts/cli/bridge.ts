// `vigil bridge probe`: connect to a running runtime's firmware bridge as a (throw-away) device, say
// hello, ask for status and time a round trip. For field checks of a gateway; all logic lives in the
// bridge client.
import type { Command } from 'commander';
import { BridgeClient, type ClientTransport } from '../../firmware-bridge/client/index.ts';
import { BridgeError } from '../../firmware-bridge/protocol/index.ts';
import { CliError } from './cli-error.ts';

interface ProbeOptions {
  readonly socket?: string;
  readonly tcp?: string;
  readonly device?: string;
  readonly timeoutMs: string;
  readonly json?: boolean;
}

function transportOf(options: ProbeOptions): ClientTransport {
  if ((options.socket === undefined) === (options.tcp === undefined)) {
    throw new CliError('BAD_ARGUMENT', 'give exactly one of --socket PATH or --tcp HOST:PORT');
  }
  if (options.socket !== undefined) return { kind: 'unix', path: options.socket };
  const match = /^(.+):(\d{1,5})$/.exec(options.tcp ?? '');
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CliError('BAD_ARGUMENT', '--tcp takes HOST:PORT, e.g. 127.0.0.1:7400');
  }
  return { kind: 'tcp', host: match[1], port };
}

async function probe(options: ProbeOptions): Promise<void> {
  const timeoutMs = Number(options.timeoutMs);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new CliError('BAD_ARGUMENT', '--timeout-ms must be a positive integer');
  }
  const transport = transportOf(options);
  // A device id of its own: saying hello as a real device's id would take its session over.
  const device = options.device ?? `vigil-probe-${process.pid}`;
  let client: BridgeClient;
  try {
    client = await BridgeClient.connect({
      transport,
      device,
      firmware: 'vigil-cli',
      reconnect: false,
      requestTimeoutMs: timeoutMs,
    });
  } catch (error) {
    if (error instanceof BridgeError) throw new CliError(error.code, error.message, 1, { cause: error });
    throw error;
  }
  try {
    const rttMs = await client.ping();
    const status = await client.status();
    const ack = client.session;
    const report = {
      device,
      protocolVersion: ack?.version,
      server: ack?.server,
      limits: ack?.limits,
      caps: ack?.caps,
      roundTripMs: Number(rttMs.toFixed(3)),
      runtime: status.runtime,
    };
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const lines = [
      `runtime ${status.runtime.deviceId} (${ack?.server.name ?? '?'} ${status.runtime.runtimeVersion}), ` +
        `protocol ${ack?.version ?? '?'}, round trip ${rttMs.toFixed(2)} ms`,
      `limits: ${Object.entries(ack?.limits ?? {})
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')}`,
      `open streams: ${status.runtime.openStreams}${status.runtime.frozen ? ' (frozen)' : ''}`,
      ...status.runtime.models.map(
        (m) =>
          `model ${m.modelFamily}: ${m.bundleId} v${m.version} seq ${m.sequence} (${m.sensor}, ${m.backend})` +
          (m.candidateBundleId === null ? '' : `, shadow candidate ${m.candidateBundleId}`),
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (error) {
    if (error instanceof BridgeError) throw new CliError(error.code, error.message, 1, { cause: error });
    throw error;
  } finally {
    await client.close();
  }
}

/** Registers the `vigil bridge` command group. */
export function registerBridge(program: Command): void {
  const bridge = program.command('bridge').description('firmware bridge tools');
  bridge
    .command('probe')
    .description('connect to the runtime as a throw-away device: hello, status, round trip')
    .option('--socket <path>', 'Unix socket the runtime listens on')
    .option('--tcp <host:port>', 'TCP address on loopback')
    .option('--device <id>', 'device id for the hello (default: vigil-probe-PID; never a real device id)')
    .option('--timeout-ms <ms>', 'give up on a request after this long', '5000')
    .option('--json', 'print the report as JSON')
    .action(async (options: ProbeOptions) => {
      await probe(options);
    });
}
