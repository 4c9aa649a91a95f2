// `vigil push X.vbundle --mqtt URL --fleet F [--device D ...] [--cohort C]`: sends a signed bundle to
// devices over MQTT in chunks and follows each device's status until it reaches the asked state.
// Logic lives in monitor/updates (UpdateSender) and monitor/mqtt (connectOperator); this file parses
// arguments, shows progress and maps the outcome to an exit code:
// 0 all targeted devices reached the state, 3 a device rejected the update, 4 timeout.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { MultiBar, Presets } from 'cli-progress';
import type { SingleBar } from 'cli-progress';
import { connectOperator } from '../../monitor/mqtt/index.ts';
import type { OperatorOptions, ProtocolChoice, TlsOptions } from '../../monitor/mqtt/index.ts';
import { SENDER_DEFAULTS, UpdateSender } from '../../monitor/updates/index.ts';
import type { PushGoal, PushResult, PushTarget, SenderEvent } from '../../monitor/updates/index.ts';
import { CliError } from './cli-error.ts';

/** A bundle bigger than this is refused before reading (devices cap far lower by default). */
const PUSH_MAX_BYTES = 512 * 1024 * 1024;
const PEM_MAX_BYTES = 64 * 1024;
const GOALS: readonly PushGoal[] = ['received', 'verified', 'installed', 'shadow', 'promoted'];
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface PushArgs {
  readonly mqtt: string;
  readonly fleet?: string;
  readonly device?: string[];
  readonly cohort?: string;
  readonly expect?: string[];
  readonly chunkBytes: string;
  readonly until: string;
  readonly timeout: string;
  readonly retry: string;
  readonly discovery: string;
  readonly protocol: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  readonly insecure?: boolean;
  readonly username?: string;
  readonly json?: boolean;
  readonly progress: boolean;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new CliError('BAD_ARGUMENT', `${flag} must be a positive integer`);
  return n;
}

async function readFileCapped(file: string, maxBytes: number, what: string): Promise<Buffer> {
  let size: number;
  try {
    size = (await fs.stat(file)).size;
  } catch (error) {
    throw new CliError('NOT_FOUND', `${what} ${file} not found`, 2, { cause: error });
  }
  if (size > maxBytes) throw new CliError('BAD_ARGUMENT', `${what} ${file} is larger than ${maxBytes} bytes`);
  return fs.readFile(file);
}

/** `--device D` needs `--fleet F`; `--device F/D` carries its fleet. */
function parseTargets(o: PushArgs): { fleet: string; target: PushTarget } {
  const devices = o.device ?? [];
  const fleets = new Set<string>();
  const names: string[] = [];
  for (const d of devices) {
    const [a, b, ...rest] = d.split('/');
    if (rest.length > 0 || a === '' || b === '')
      throw new CliError('BAD_ARGUMENT', `--device ${d}: use D or F/D`);
    if (b === undefined) names.push(a as string);
    else {
      fleets.add(a as string);
      names.push(b);
    }
  }
  if (o.fleet !== undefined) fleets.add(o.fleet);
  if (fleets.size !== 1) {
    throw new CliError(
      'BAD_ARGUMENT',
      fleets.size === 0 ? 'give --fleet F (or --device F/D)' : 'all targets must be in one fleet',
    );
  }
  const fleet = [...fleets][0] as string;
  if (names.length > 0) {
    if (o.cohort !== undefined) throw new CliError('BAD_ARGUMENT', '--cohort targets a fleet: drop --device');
    return { fleet, target: { kind: 'devices', devices: names } };
  }
  return {
    fleet,
    target: {
      kind: 'fleet',
      ...(o.cohort === undefined ? {} : { cohort: o.cohort }),
      ...(o.expect === undefined ? {} : { expect: o.expect }),
    },
  };
}

async function operatorOptions(o: PushArgs): Promise<OperatorOptions> {
  if (!['auto', '3.1.1', '5'].includes(o.protocol)) {
    throw new CliError('BAD_ARGUMENT', '--protocol must be auto, 3.1.1 or 5');
  }
  const tls: { -readonly [K in keyof TlsOptions]?: TlsOptions[K] } = {};
  if (o.ca !== undefined) tls.ca = await readFileCapped(o.ca, PEM_MAX_BYTES, 'CA file');
  if (o.cert !== undefined) tls.cert = await readFileCapped(o.cert, PEM_MAX_BYTES, 'certificate');
  if (o.key !== undefined) tls.key = await readFileCapped(o.key, PEM_MAX_BYTES, 'key');
  if (o.servername !== undefined) tls.servername = o.servername;
  if (o.insecure === true) tls.rejectUnauthorized = false;
  const password = process.env.VIGIL_MQTT_PASSWORD;
  return {
    url: o.mqtt,
    clientId: `vigil-push-${process.pid}-${Date.now().toString(36)}`,
    protocol: o.protocol as ProtocolChoice,
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.username !== undefined && password !== undefined ? { password } : {}),
  };
}

/** Progress on a terminal: one bar for the upload, one per device; plain lines otherwise. */
class PushProgress {
  private readonly multi: MultiBar | null;
  private upload: SingleBar | null = null;
  private readonly bars = new Map<string, SingleBar>();
  private readonly last = new Map<string, string>();

  constructor(
    enabled: boolean,
    private readonly totalChunks: number,
  ) {
    this.multi =
      enabled && process.stderr.isTTY
        ? new MultiBar(
            {
              stream: process.stderr,
              format: ' {name} |{bar}| {value}/{total} chunks  {state}',
              hideCursor: true,
              clearOnComplete: false,
            },
            Presets.shades_classic,
          )
        : null;
  }

  onEvent(event: SenderEvent): void {
    switch (event.kind) {
      case 'targets':
        this.line(`targets: ${event.devices.join(', ')}`);
        if (this.multi) {
          this.upload = this.multi.create(1, 0, { name: 'upload'.padEnd(16), state: '' });
          for (const d of event.devices) {
            this.bars.set(
              d,
              this.multi.create(this.totalChunks, 0, { name: d.padEnd(16).slice(0, 16), state: 'pending' }),
            );
          }
        }
        break;
      case 'chunks-sent':
        if (this.upload) {
          this.upload.setTotal(event.total);
          this.upload.update(event.sent, { state: event.sent === event.total ? 'sent' : 'sending' });
        }
        break;
      case 'status': {
        const s = event.status;
        const text = s.status === 'rejected' ? `rejected ${s.code ?? ''}` : s.status;
        let bar = this.bars.get(event.device);
        if (!bar && this.multi) {
          bar = this.multi.create(this.totalChunks, 0, {
            name: event.device.padEnd(16).slice(0, 16),
            state: text,
          });
          this.bars.set(event.device, bar);
        }
        bar?.update(
          s.receivedChunks ??
            (s.status === 'received' ? this.totalChunks : bar.getProgress() * this.totalChunks),
          {
            state: text,
          },
        );
        if (this.last.get(event.device) !== text) {
          this.last.set(event.device, text);
          if (!this.multi) this.line(`${event.device}: ${text}`);
        }
        break;
      }
      case 'resend':
        this.line(`${event.device}: re-sending ${event.chunks} missing chunk(s)`);
        break;
      case 'manifest-resent':
        this.line(`${event.device}: silent, manifest sent again`);
        break;
      case 'publish-failed':
        this.line(`publish to ${event.topic} failed: ${String(event.error)}`);
        break;
    }
  }

  stop(): void {
    this.multi?.stop();
  }

  private line(text: string): void {
    if (this.multi) this.multi.log(`${text}\n`);
    else process.stderr.write(`${text}\n`);
  }
}

function report(result: PushResult, json: boolean): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        transferId: result.transferId,
        ok: result.ok,
        timedOut: result.timedOut,
        chunksPublished: result.chunksPublished,
        devices: result.devices,
      })}\n`,
    );
    return;
  }
  process.stdout.write(`transfer ${result.transferId}\n`);
  for (const d of result.devices) {
    process.stdout.write(
      `  ${d.device.padEnd(24)} ${d.state.padEnd(10)} ${d.code ?? ''}${d.done ? '' : ' (no final answer)'}\n`,
    );
  }
}

export function registerPush(program: Command): void {
  program
    .command('push')
    .description('send a signed bundle to devices over MQTT, in chunks, and follow their statuses')
    .argument('<bundle>', 'the .vbundle file')
    .requiredOption('--mqtt <url>', 'broker URL, mqtt://host:port or mqtts://host:port')
    .option('--fleet <id>', 'the fleet; alone, targets every online device of it')
    .option('--device <id>', 'a target device, D or F/D (repeatable)', collect)
    .option('--cohort <id>', 'with --fleet only: just this cohort')
    .option(
      '--expect <id>',
      'with --fleet: wait for these devices instead of discovering them (repeatable)',
      collect,
    )
    .option('--chunk-bytes <n>', 'chunk size in bytes', String(SENDER_DEFAULTS.chunkBytes))
    .option('--until <state>', `state to wait for: ${GOALS.join('|')}`, 'installed')
    .option('--timeout <s>', 'give up after this many seconds', '600')
    .option(
      '--retry <ms>',
      'send the manifest again to a device silent this long',
      String(SENDER_DEFAULTS.retryMs),
    )
    .option(
      '--discovery <ms>',
      'with --fleet: how long to listen for online devices',
      String(SENDER_DEFAULTS.discoveryMs),
    )
    .option('--protocol <p>', 'MQTT protocol: auto|3.1.1|5', 'auto')
    .option('--ca <file>', 'CA certificate (PEM) for mqtts')
    .option('--cert <file>', 'client certificate (PEM) for mqtts')
    .option('--key <file>', 'client key (PEM) for mqtts')
    .option('--servername <name>', 'TLS server name, when it differs from the URL host')
    .option('--insecure', 'do not verify the broker certificate (lab brokers only)')
    .option('--username <name>', 'MQTT user name (password from $VIGIL_MQTT_PASSWORD)')
    .option('--json', 'print the outcome as JSON')
    .option('--no-progress', 'no progress bars')
    .action(async (bundle: string, o: PushArgs) => {
      const until = o.until as PushGoal;
      if (!GOALS.includes(until))
        throw new CliError('BAD_ARGUMENT', `--until must be one of ${GOALS.join(', ')}`);
      const { fleet, target } = parseTargets(o);
      const chunkBytes = positiveInt(o.chunkBytes, '--chunk-bytes');
      const file = new Uint8Array(await readFileCapped(bundle, PUSH_MAX_BYTES, 'bundle'));
      const connection = await connectOperator(await operatorOptions(o));
      let progress: PushProgress | null = null;
      let result: PushResult;
      try {
        const sender = new UpdateSender(
          connection,
          {
            fleet,
            target,
            file,
            name: path.basename(bundle),
            chunkBytes,
            until,
            timeoutMs: positiveInt(o.timeout, '--timeout') * 1000,
            retryMs: positiveInt(o.retry, '--retry'),
            discoveryMs: positiveInt(o.discovery, '--discovery'),
          },
          {
            onEvent: (event) => {
              progress?.onEvent(event);
            },
          },
        );
        progress = new PushProgress(o.progress && o.json !== true, Math.ceil(file.length / chunkBytes));
        result = await sender.run();
      } finally {
        progress?.stop();
        await connection.end();
      }
      report(result, o.json === true);
      const rejected = result.devices.filter((d) => d.state === 'rejected');
      if (rejected.length > 0) {
        throw new CliError(
          'REJECTED',
          `${rejected.length} device(s) rejected the update: ${rejected.map((d) => `${d.device} ${d.code ?? ''}`).join(', ')}`,
          3,
        );
      }
      if (result.timedOut) {
        const waiting = result.devices.filter((d) => !d.done).map((d) => `${d.device} (${d.state})`);
        throw new CliError('TIMEOUT', `no final answer from ${waiting.join(', ')} within ${o.timeout} s`, 4);
      }
    });
}
