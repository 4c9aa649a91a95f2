// `vigil collector`, `vigil device enroll|list|retire`, `vigil report`: the fleet collector for clinical
// safety teams (docs/collector.md). Logic lives in monitor/collector; this file parses arguments and
// wires what monitor/ may not import itself: bundle verification (runtime/verify) for `collector
// profile add`, and enrolment verification against the trust document (runtime/trust) for `device
// enroll`. The collector only ever stores enrolments and profiles that passed those checks.
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import pino from 'pino';
import {
  bytesToHex,
  readPublicKeyFile,
  readSecretKeyFile,
  sha256Hex,
  signerFor,
  withFileSource,
  type DeploymentStage,
} from '../../models/format/index.ts';
import {
  Collector,
  CollectorError,
  SqliteCollectorStore,
  buildSurveillanceReport,
  connectMqttSource,
  registrationFromManifest,
  renderPdf,
  renderSurveillanceHtml,
  startHttpServer,
  type CollectorOptionsInput,
  type Enrolment,
} from '../../monitor/collector/index.ts';
import {
  DEFAULT_TRUST_MAX_BYTES,
  TrustStore,
  signDeviceEnrolment,
  verifyDeviceEnrolment,
  type DeviceEnrolment,
} from '../../runtime/trust/index.ts';
import { verifyBundle, type VerifiedBundle } from '../../runtime/verify/index.ts';
import { CliError } from './cli-error.ts';

const ENROLMENT_MAX_BYTES = 4096;
const PROFILE_MAX_BYTES = 32 * 1024 * 1024;

async function readCapped(file: string, maxBytes: number, what: string): Promise<Uint8Array> {
  let size: number;
  try {
    size = (await fs.stat(file)).size;
  } catch (error) {
    throw new CliError('NOT_FOUND', `${what} ${file} not found`, 2, { cause: error });
  }
  if (size > maxBytes) throw new CliError('BAD_ARGUMENT', `${what} ${file} is larger than ${maxBytes} bytes`);
  return new Uint8Array(await fs.readFile(file));
}

/** `90`, `90ms`, `10s`, `15m`, `1h`, `1d` → milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new CliError('BAD_ARGUMENT', `${flag} takes a duration such as 10s, 15m, 1h or 1d`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  const ms = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new CliError('BAD_ARGUMENT', `${flag} is out of range`);
  return ms;
}

function parseTime(value: string, flag: string): number {
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new CliError(
      'BAD_ARGUMENT',
      `${flag} must be an ISO 8601 time (e.g. 2026-01-15T00:00:00Z) or ms since the epoch`,
    );
  }
  return ms;
}

function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65_535) throw new CliError('BAD_ARGUMENT', '--http takes HOST:PORT, e.g. 127.0.0.1:8080');
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

function openStore(db: string, readonly = false): SqliteCollectorStore {
  return new SqliteCollectorStore(db, { readonly });
}

/** A collector for one-shot commands (no workers, no timers). */
function offlineCollector(db: string, fleet: string | null, readonly = false): Collector {
  return new Collector({ store: openStore(db, readonly), fleet, options: { verifyThreads: 0 } });
}

async function loadTrust(file: string): Promise<TrustStore> {
  return TrustStore.loadAnchor(await readCapped(file, DEFAULT_TRUST_MAX_BYTES, 'trust document'));
}

const collectHosts = (value: string, previous: string[] = []): string[] => [...previous, value];

interface RunArgs {
  readonly mqtt: string;
  readonly db: string;
  readonly http: string;
  readonly allowedHost?: string[];
  readonly fleet?: string;
  readonly bucket: string;
  readonly grace?: string;
  readonly protocol: string;
  readonly shareGroup: string;
  readonly share: boolean;
  readonly clientId?: string;
  readonly verifyThreads: string;
  readonly consecutive?: string;
  readonly fdr?: string;
  readonly minPsi?: string;
  readonly groupBy?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly username?: string;
}

async function runCollector(o: RunArgs): Promise<void> {
  const log = pino({ name: 'vigil-collector' }, pino.destination(2));
  const bucketMs = parseDuration(o.bucket, '--bucket');
  const options: CollectorOptionsInput = {
    bucketMs,
    evaluationGraceMs:
      o.grace === undefined ? Math.min(900_000, Math.round(bucketMs / 4)) : parseDuration(o.grace, '--grace'),
    evaluateEveryMs: Math.max(1000, Math.min(10_000, Math.round(bucketMs / 10))),
    verifyThreads: Number(o.verifyThreads),
    alertRule: {
      ...(o.consecutive === undefined ? {} : { consecutiveWindows: Number(o.consecutive) }),
      ...(o.fdr === undefined ? {} : { fdr: Number(o.fdr) }),
      ...(o.minPsi === undefined ? {} : { minPsi: Number(o.minPsi) }),
      ...(o.groupBy === undefined ? {} : { groupBy: o.groupBy as 'cohort' }),
    },
  };
  const { host, port } = parseHostPort(o.http);
  const collector = new Collector({
    store: openStore(o.db),
    fleet: o.fleet ?? null,
    options,
    logger: {
      warn: (obj, msg) => {
        log.warn(obj, msg);
      },
    },
  });
  collector.start();
  const http = await startHttpServer(collector, {
    host,
    port,
    ...(o.allowedHost === undefined ? {} : { allowedHosts: o.allowedHost }),
  });
  const protocol = o.protocol === '3.1.1' || o.protocol === '5' ? o.protocol : 'auto';
  const source = await connectMqttSource(
    {
      url: o.mqtt,
      fleet: o.fleet ?? null,
      protocol,
      shareGroup: o.share ? o.shareGroup : null,
      ...(o.clientId === undefined ? {} : { clientId: o.clientId }),
      ...(o.username === undefined ? {} : { username: o.username }),
      ...(process.env.VIGIL_MQTT_PASSWORD === undefined ? {} : { password: process.env.VIGIL_MQTT_PASSWORD }),
      ...(o.ca === undefined ? {} : { ca: await fs.readFile(o.ca) }),
      ...(o.cert === undefined ? {} : { cert: await fs.readFile(o.cert) }),
      ...(o.key === undefined ? {} : { key: await fs.readFile(o.key) }),
    },
    collector,
  );
  log.info(
    {
      mqtt: o.mqtt,
      protocol: source.protocol,
      shared: source.shared,
      filters: source.filters,
      http: http.url,
      db: o.db,
    },
    'collector started',
  );
  process.stdout.write(
    `vigil collector: fleet ${o.fleet ?? '(all)'} · MQTT ${source.protocol === 5 ? '5' : '3.1.1'}${source.shared ? ' (shared subscription)' : ''} ${o.mqtt}\n` +
      `  dashboard ${http.url}/  ·  database ${o.db}  ·  window ${o.bucket}\n`,
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
  log.info({}, 'collector stopping');
  await source.close();
  await http.close();
  await collector.close();
}

/** Verifies a bundle offline against the trust document for the first stage its approvals allow. */
async function verifyForCollector(file: string, trust: TrustStore, atMs: number): Promise<VerifiedBundle> {
  let last: unknown = null;
  for (const stage of ['full', 'canary', 'shadow'] as const satisfies readonly DeploymentStage[]) {
    try {
      return await withFileSource(file, (source) =>
        verifyBundle(source, {
          trust,
          stage,
          now: () => atMs,
          target: { kind: 'offline', deviceClass: null, runtimeVersion: null },
        }),
      );
    } catch (error) {
      last = error;
      const code = (error as { code?: unknown }).code;
      if (code !== 'SCOPE_INSUFFICIENT') break; // only a narrower scope is worth another stage
    }
  }
  throw last instanceof Error ? last : new CliError('FAILED', `${file} does not verify`);
}

async function profileAdd(
  file: string | undefined,
  o: { db: string; trust?: string; profile?: string; at?: string },
): Promise<void> {
  const collector = offlineCollector(o.db, null);
  try {
    if (file !== undefined) {
      if (o.trust === undefined)
        throw new CliError('BAD_ARGUMENT', 'a bundle is verified against --trust TRUST.cbor');
      const trust = await loadTrust(o.trust);
      const atMs = o.at === undefined ? Date.now() : parseTime(o.at, '--at');
      const v = await verifyForCollector(file, trust, atMs);
      const entry = v.index.find((e) => e.path === v.manifest.model.profileFile);
      const listed = v.manifest.files.find((f) => f.path === v.manifest.model.profileFile);
      if (entry === undefined || listed === undefined) {
        throw new CliError('FAILED', `the bundle carries no profile file ${v.manifest.model.profileFile}`);
      }
      if (entry.size > PROFILE_MAX_BYTES) throw new CliError('BAD_ARGUMENT', 'the profile file is too large');
      const handle = await fs.open(file, 'r');
      const bytes = new Uint8Array(entry.size);
      try {
        await handle.read(bytes, 0, entry.size, entry.offset);
      } finally {
        await handle.close();
      }
      // Re-hash what we read (the file could have changed since verification).
      if (sha256Hex(bytes) !== listed.sha256)
        throw new CliError('FAILED', 'the profile changed after verification');
      const approvals = v.approvals.map((a) => `${a.role} ${a.reviewer}`).join('; ');
      const verification = `verified offline for ${v.stage} deployment against trust version ${v.trustVersion} (${v.trustSha256.slice(0, 12)}…); approvals: ${approvals}`;
      const r = collector.registerModel(
        registrationFromManifest(v.manifest, v.manifestSha256, bytes, verification),
      );
      process.stdout.write(
        `registered ${v.manifest.bundleId} (sequence ${v.manifest.sequence})\n  manifest ${v.manifestSha256}\n  profile  ${r.profileSha256}\n  ${verification}\n`,
      );
      return;
    }
    if (o.profile === undefined)
      throw new CliError('BAD_ARGUMENT', 'give a BUNDLE.vbundle (with --trust) or --profile profile.json');
    const bytes = await readCapped(o.profile, PROFILE_MAX_BYTES, 'profile');
    const r = collector.registerModel({
      profileBytes: bytes,
      manifest: null,
      source: 'profile',
      verification: null,
    });
    process.stdout.write(
      `registered profile ${r.profileSha256}\n  reports naming this profile SHA-256 are now analysed; performance needs the` +
        ` bundle's operating threshold (register the bundle itself for that)\n`,
    );
  } finally {
    await collector.close();
  }
}

interface EnrollArgs {
  readonly db: string;
  readonly trust: string;
  readonly fleet: string;
  readonly record?: string;
  readonly device?: string;
  readonly deviceKey?: string;
  readonly sign?: string;
  readonly vendor: string;
  readonly class: string;
  readonly site: string;
  readonly out?: string;
}

async function deviceEnroll(o: EnrollArgs): Promise<void> {
  const trust = await loadTrust(o.trust);
  let record: Uint8Array;
  if (o.record !== undefined) {
    record = await readCapped(o.record, ENROLMENT_MAX_BYTES, 'enrolment record');
  } else {
    if (o.device === undefined || o.deviceKey === undefined || o.sign === undefined) {
      throw new CliError(
        'BAD_ARGUMENT',
        'give --record FILE (signed by a field key), or --device D --device-key D.pub --sign FIELD.key to sign one now',
      );
    }
    const key = await readPublicKeyFile(o.deviceKey);
    if (key.role !== 'device')
      throw new CliError('BAD_ARGUMENT', `${o.deviceKey} is a ${key.role} key, not a device key`);
    const field = await readSecretKeyFile(o.sign);
    if (field.role !== 'field')
      throw new CliError('BAD_ARGUMENT', `${o.sign} is a ${field.role} key, not a field key`);
    const enrolment: DeviceEnrolment = {
      formatVersion: 1,
      deviceId: o.device,
      kid: key.kid,
      publicKey: key.publicKey,
      deviceClass: { vendorId: o.vendor, classId: o.class },
      enrolledAtMs: Date.now(),
    };
    record = signDeviceEnrolment(enrolment, signerFor(field));
    if (o.out !== undefined) await fs.writeFile(o.out, record);
  }
  // Verification against the trust document: signed by an unrevoked `field` key, device key not revoked.
  const e = verifyDeviceEnrolment(trust, record);
  const signer = trust.verifyRoleSign1(record, {
    role: 'field',
    contentType: 'application/vnd.vigil.device-enrolment+cbor',
    maxBytes: ENROLMENT_MAX_BYTES,
  }).kid;
  const enrolment: Enrolment = {
    fleet: o.fleet,
    device: e.deviceId,
    kid: e.kid,
    publicKey: e.publicKey,
    deviceClass: e.deviceClass,
    enrolledAtMs: e.enrolledAtMs,
    enrolledBy: signer,
    site: o.site,
    record,
    retiredAtMs: null,
    retiredBy: null,
    retiredReason: null,
  };
  const collector = offlineCollector(o.db, o.fleet);
  try {
    collector.enrol(enrolment);
  } finally {
    await collector.close();
  }
  process.stdout.write(
    `enrolled ${o.fleet}/${e.deviceId}: key ${e.kid} (${bytesToHex(e.publicKey).slice(0, 16)}…), signed by field key ${signer}` +
      `${o.site === '' ? '' : `, site ${o.site}`}\n`,
  );
}

export function registerCollector(program: Command): void {
  const collector = program
    .command('collector')
    .description('the fleet collector: ingest signed telemetry, analyse drift, alert, serve the dashboard');
  collector
    .command('run', { isDefault: true })
    .description('subscribe to the fleet over MQTT, store in SQLite, serve the API and dashboard')
    .requiredOption('--mqtt <url>', 'broker URL (mqtt://, mqtts://)')
    .requiredOption('--db <file>', 'the collector database (SQLite)')
    .option('--http <host:port>', 'API and dashboard address', '127.0.0.1:8080')
    .option(
      '--allowed-host <name>',
      'a host name the API may be addressed as (repeat; default: localhost and the bound address; DNS-rebinding guard)',
      collectHosts,
    )
    .option('--fleet <id>', 'only this fleet (default: every fleet on the broker)')
    .option('--bucket <duration>', 'rollup and evaluation window (report intervals should divide it)', '1h')
    .option(
      '--grace <duration>',
      'wait after a window ends before evaluating it (default a quarter window, ≤ 15 min)',
    )
    .option('--protocol <p>', 'auto, 3.1.1 or 5', 'auto')
    .option('--share-group <name>', 'MQTT 5 shared-subscription group', 'vigil-collectors')
    .option('--no-share', 'plain subscriptions even with MQTT 5')
    .option('--client-id <id>', 'stable MQTT client id (default vigil-collector-FLEET)')
    .option('--verify-threads <n>', 'worker threads verifying signatures (0: main thread)', '1')
    .option('--consecutive <n>', 'alert rule: windows in a row with a finding (default 2)')
    .option('--fdr <q>', 'alert rule: false-discovery level (default 0.01)')
    .option('--min-psi <x>', 'alert rule: effect-size floor (default 0.1)')
    .option('--group-by <dim>', 'alert rule: cohort, firmware or site (default cohort)')
    .option('--ca <file>', 'TLS CA certificate (PEM)')
    .option('--cert <file>', 'TLS client certificate (PEM)')
    .option('--key <file>', 'TLS client key (PEM)')
    .option('--username <name>', 'MQTT user (password from VIGIL_MQTT_PASSWORD)')
    .action(runCollector);
  const profile = collector.command('profile').description('reference profiles of model versions');
  profile
    .command('add')
    .description(
      'register a model version: verify its bundle against the trust document and keep its profile',
    )
    .argument('[bundle]', 'the .vbundle (verified offline with runtime/verify)')
    .requiredOption('--db <file>', 'the collector database')
    .option('--trust <file>', 'the trust document (trust.cbor) the bundle must verify against')
    .option('--at <iso>', 'clock for expiry checks (default now; use the release date for an expired bundle)')
    .option('--profile <file>', 'register only a profile file (no bundle: no operating threshold)')
    .action(profileAdd);
  profile
    .command('list')
    .description('model versions and whether their profile is registered')
    .requiredOption('--db <file>', 'the collector database')
    .option('--json', 'machine-readable output')
    .action(async (o: { db: string; json?: boolean }) => {
      const c = offlineCollector(o.db, null, true);
      try {
        const models = c.store.models().map((m) => c.analytics.modelSummary(m));
        if (o.json === true) {
          process.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
          return;
        }
        for (const m of models) {
          process.stdout.write(
            `${m.label.padEnd(28)} ${m.bundleId.padEnd(28)} ${m.manifestSha256.slice(0, 12)}  profile ${m.hasProfile ? 'registered' : 'MISSING'}  (${m.source})\n`,
          );
        }
      } finally {
        await c.close();
      }
    });

  const device = program.command('device').description('device keys the collector accepts telemetry from');
  device
    .command('enroll')
    .description(
      'enrol a device key: a record signed by a field engineer, verified against the trust document',
    )
    .requiredOption('--db <file>', 'the collector database')
    .requiredOption('--trust <file>', 'the trust document (field keys, revocations)')
    .requiredOption('--fleet <id>', 'the fleet the device reports in')
    .option('--record <file>', 'a signed enrolment record (COSE_Sign1 by a field key)')
    .option('--device <id>', 'sign a record now: the device id')
    .option(
      '--device-key <file>',
      'sign a record now: the device public key (DEVICE.pub from vigil keygen --role device)',
    )
    .option('--sign <file>', 'sign a record now: the field engineer key (FIELD.key)')
    .option('--vendor <id>', 'device class vendor', 'vigil-demo')
    .option('--class <id>', 'device class', 'wearable-gateway-v1')
    .option('--site <name>', 'where the device is deployed (a grouping dimension)', '')
    .option('--out <file>', 'also write the signed record here')
    .action(deviceEnroll);
  device
    .command('list')
    .description('enrolled and retired devices with their last state')
    .requiredOption('--db <file>', 'the collector database')
    .option('--json', 'machine-readable output')
    .action(async (o: { db: string; json?: boolean }) => {
      const c = offlineCollector(o.db, null, true);
      try {
        const rows = c.enrolments.list().map((e) => {
          const d = c.store.device(e.device);
          return {
            fleet: e.fleet,
            device: e.device,
            kid: e.kid,
            site: e.site,
            enrolledBy: e.enrolledBy,
            enrolledAtMs: e.enrolledAtMs,
            retiredAtMs: e.retiredAtMs,
            retiredBy: e.retiredBy,
            retiredReason: e.retiredReason,
            online: d?.online ?? 'unknown',
            lastReportMs: d?.lastReportMs ?? null,
            model: d?.modelLabel ?? null,
          };
        });
        if (o.json === true) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        for (const r of rows) {
          const state =
            r.retiredAtMs !== null ? `retired by ${r.retiredBy ?? '?'}: ${r.retiredReason ?? ''}` : r.online;
          process.stdout.write(
            `${`${r.fleet}/${r.device}`.padEnd(32)} ${r.kid.padEnd(24)} ${(r.site || '-').padEnd(12)} ${state}` +
              `${r.lastReportMs === null ? '' : `  last report ${new Date(r.lastReportMs).toISOString()}`}\n`,
          );
        }
      } finally {
        await c.close();
      }
    });
  device
    .command('retire')
    .description('stop accepting a device: its key is refused from now on (its data is kept)')
    .argument('<device>', 'device id')
    .requiredOption('--db <file>', 'the collector database')
    .requiredOption('--fleet <id>', 'its fleet')
    .requiredOption('--by <name>', 'who retires it')
    .requiredOption('--reason <text>', 'why')
    .action(async (id: string, o: { db: string; fleet: string; by: string; reason: string }) => {
      const c = offlineCollector(o.db, o.fleet);
      try {
        const n = c.retire(o.fleet, id, o.by, o.reason);
        if (n === 0) throw new CliError('NOT_FOUND', `${o.fleet}/${id} has no active enrolment`);
        process.stdout.write(`retired ${o.fleet}/${id} (${n} key${n === 1 ? '' : 's'})\n`);
      } finally {
        await c.close();
      }
    });

  program
    .command('report')
    .description(
      'post-market surveillance report per model version (HTML, PDF through headless Chromium, JSON)',
    )
    .requiredOption('--model <id>', 'model family or bundle id')
    .option('--version <v>', 'only this version')
    .requiredOption('--from <time>', 'period start (ISO 8601)')
    .requiredOption('--to <time>', 'period end (ISO 8601)')
    .requiredOption('--db <file>', 'the collector database')
    .option('--out <file>', 'write the HTML report here')
    .option('--pdf <file>', 'also print it to PDF with headless Chromium')
    .option('--json', 'print the report data as JSON on stdout')
    .action(
      async (o: {
        model: string;
        version?: string;
        from: string;
        to: string;
        db: string;
        out?: string;
        pdf?: string;
        json?: boolean;
      }) => {
        if (o.out === undefined && o.pdf === undefined && o.json !== true) {
          throw new CliError('BAD_ARGUMENT', 'give --out report.html, --pdf report.pdf or --json');
        }
        const c = new Collector({
          store: openStore(o.db, true),
          fleet: null,
          options: { verifyThreads: 0 },
        });
        try {
          const report = buildSurveillanceReport(c, {
            model: o.model,
            ...(o.version === undefined ? {} : { version: o.version }),
            fromMs: parseTime(o.from, '--from'),
            toMs: parseTime(o.to, '--to'),
          });
          const html = renderSurveillanceHtml(report, c.options.alertRule.groupBy);
          if (o.out !== undefined) {
            await fs.writeFile(o.out, html);
            process.stderr.write(`wrote ${o.out} (${report.versions.length} model version(s))\n`);
          }
          if (o.pdf !== undefined) {
            const bytes = await renderPdf(html, o.pdf);
            process.stderr.write(`wrote ${o.pdf} (${bytes} bytes)\n`);
          }
          if (o.json === true) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        } catch (error) {
          if (error instanceof CollectorError && error.code === 'NOT_FOUND') {
            throw new CliError('NOT_FOUND', error.message, 2, { cause: error });
          }
          throw error;
        } finally {
          await c.close();
        }
      },
    );
}
