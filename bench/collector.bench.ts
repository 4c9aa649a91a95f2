// Fleet collector figures (DESIGN.md "Tests and benchmarks", issue 8):
//
// 1. collector-ingest: signed reports ingested per second (verify + dedupe + store, committed) against
//    the broker's raw delivery of the SAME messages to a subscriber that does nothing, same run. The
//    broker is a real Mosquitto (MQTT 5; the collector uses its shared subscription); the devices are one
//    publishing child process (pipelined QoS 1), so neither side shares the publisher's CPU. Rates are
//    measured at the receiving side, first message to last one processed; rounds are interleaved and
//    the median kept (shared, noisy machines).
// 2. collector-api: dashboard API response times for a 1,000-device, 30-day fleet (hourly reports:
//    720,000 reports). The store is seeded directly with the ingest path's own writer calls (signed
//    report bytes, report rows, hourly and daily rollups, device-days); then every request the dashboard
//    makes for the 30-day and 24-hour views is timed end to end over HTTP.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import {
  Aggregate,
  Collector,
  SqliteCollectorStore,
  connectMqttSource,
  classifyMessage,
  startHttpServer,
  workerVerifier,
  type DeviceDay,
  type SignatureCheck,
  type RollupKey,
} from '../monitor/collector/index.ts';
import type { TelemetryReport } from '../monitor/report/index.ts';
import { startMosquitto } from '../test/integration/mqtt/brokers.ts';
import {
  REPO,
  Rng,
  enrolmentOf,
  makeDevice,
  referenceModel,
  signedReport,
  simulateReport,
  topic,
  type SimDevice,
} from '../test/integration/collector/fleet-sim.ts';
import { percentile, type BenchFigure } from './harness.ts';

export const name = 'collector';

const H = 3_600_000;
const DAY = 86_400_000;
const INGEST_DEVICES = 500;
const INGEST_MESSAGES = 20_000;
const ROUNDS = 3;

// The devices: one child process publishing pre-signed reports (base64 JSON lines), pipelined QoS 1.
const PUBLISHER = `
import fs from 'node:fs';
import mqtt from 'mqtt';
const [url, file] = process.argv.slice(1);
const lines = fs.readFileSync(file, 'utf8').trim().split('\\n').map((l) => JSON.parse(l));
const client = await mqtt.connectAsync(url, { clientId: 'bench-devices-' + process.pid, protocolVersion: 5, clean: true });
const WINDOW = 256;
let next = 0;
const worker = async () => {
  while (next < lines.length) {
    const m = lines[next++];
    await client.publishAsync(m.t, Buffer.from(m.p, 'base64'), { qos: 1 });
  }
};
await Promise.all(Array.from({ length: WINDOW }, worker));
await client.endAsync();
`;

function publish(url: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', PUBLISHER, url, file], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`publisher exited ${code}: ${err}`));
    });
  });
}

async function rawRound(url: string, file: string, filter: string, n: number): Promise<number> {
  const sub = await mqtt.connectAsync(url, {
    clientId: `bench-raw-${process.pid}`,
    protocolVersion: 5,
    clean: true,
  });
  await sub.subscribeAsync(filter, { qos: 1 });
  let got = 0;
  let first = 0;
  let last = 0;
  const done = new Promise<void>((resolve) => {
    sub.on('message', () => {
      got++;
      if (got === 1) first = performance.now();
      if (got === n) {
        last = performance.now();
        resolve();
      }
    });
  });
  await publish(url, file);
  await done;
  await sub.endAsync();
  return (n - 1) / ((last - first) / 1000);
}

async function collectorRound(
  url: string,
  file: string,
  devices: readonly SimDevice[],
  n: number,
  dir: string,
  round: number,
): Promise<number> {
  const model = referenceModel('fall-detector');
  const collector = new Collector({
    store: new SqliteCollectorStore(path.join(dir, `ingest-${round}.db`)),
    fleet: 'bench',
  });
  collector.registerModel(model.registration);
  for (const d of devices) collector.enrol(enrolmentOf(d));
  let first = 0;
  const sink = {
    accept: (t: string, p: Uint8Array, hint?: number | null) => {
      if (first === 0) first = performance.now();
      collector.accept(t, p, hint ?? null);
    },
    get overloaded() {
      return collector.overloaded;
    },
    whenBelowLimit: () => collector.whenBelowLimit(),
  };
  const source = await connectMqttSource(
    { url, fleet: 'bench', clientId: `bench-collector-${round}`, clean: true },
    sink,
  );
  const published = publish(url, file);
  let last = 0;
  for (;;) {
    if (collector.ingest.processedCount >= n) {
      last = performance.now();
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await published;
  const accepted = collector.overview().ingest.accepted.report;
  await source.close();
  await collector.close();
  if (accepted !== n) throw new Error(`the collector accepted ${accepted} of ${n} reports`);
  return (n - 1) / ((last - first) / 1000);
}

async function ingestFigures(log: (line: string) => void, dir: string): Promise<BenchFigure[]> {
  const model = referenceModel('fall-detector');
  const rng = new Rng(2026);
  const devices = Array.from({ length: INGEST_DEVICES }, (_, i) =>
    makeDevice('bench', `d${i}`, { cohort: `c${i % 4}`, firmware: `fw-${i % 3}`, site: `s${i % 10}` }),
  );
  // A pool of realistic hourly reports, re-signed per device and sequence number.
  const pool = Array.from({ length: 50 }, (_, i) =>
    simulateReport(makeDevice('bench', 'pool'), model, {
      startMs: 0,
      intervalMs: H,
      windows: 3600,
      rng,
      labelShare: 0.01,
      gain: i % 10 === 0 ? 1.2 : 1,
    }),
  );
  const lines: string[] = [];
  let bytes = 0;
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < INGEST_MESSAGES; i++) {
    const d = devices[i % devices.length] as SimDevice;
    const h = Math.floor(i / devices.length);
    const base = pool[i % pool.length] as TelemetryReport;
    const r: TelemetryReport = {
      ...base,
      fleet: d.fleet,
      device: d.device,
      seq: d.seq++,
      cohort: d.cohort,
      firmwareVersion: d.firmware,
      startMs: t0 + h * H,
      endMs: t0 + (h + 1) * H,
      createdMs: t0 + (h + 1) * H + 5,
    };
    const signed = signedReport(d, r);
    bytes += signed.length;
    lines.push(JSON.stringify({ t: topic(d, 'report'), p: Buffer.from(signed).toString('base64') }));
  }
  const file = path.join(dir, 'messages.jsonl');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  log(
    `ingest: ${INGEST_MESSAGES} signed reports from ${INGEST_DEVICES} devices, ${Math.round(bytes / INGEST_MESSAGES)} bytes each`,
  );
  const broker = await startMosquitto();
  const raw: number[] = [];
  const ingest: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      raw.push(await rawRound(broker.url, file, 'vigil/v1/bench/+/report', INGEST_MESSAGES));
      ingest.push(await collectorRound(broker.url, file, devices, INGEST_MESSAGES, dir, round));
      log(
        `round ${round + 1}: raw ${Math.round(raw[round] ?? 0)} msg/s, collector ${Math.round(ingest[round] ?? 0)} reports/s`,
      );
    }
  } finally {
    await broker.stop();
  }
  const med = (xs: number[]) => percentile(xs, 50);
  const ratio = med(ingest) / med(raw);
  // What one core can verify (node:crypto Ed25519, the same Sig_structures): the bound that explains
  // the ratio on small machines.
  const checks: SignatureCheck[] = [];
  for (const line of lines.slice(0, 4000)) {
    const m = JSON.parse(line) as { t: string; p: string };
    const c = classifyMessage(m.t, new Uint8Array(Buffer.from(m.p, 'base64')), {
      fleet: 'bench',
      maxBytes: 65_536,
      nowMs: Number.MAX_SAFE_INTEGER / 2,
      maxClockSkewMs: 600_000,
      maxWindowsPerSecond: 4,
      lookupKey: (kid) => {
        const d = devices.find((x) => x.kid === kid);
        return d
          ? { kind: 'active', key: { publicKey: d.publicKey, fleet: d.fleet, device: d.device } }
          : { kind: 'unknown' };
      },
    });
    if (c.kind === 'signature') checks.push(c.check);
  }
  const verifier = workerVerifier(1);
  await verifier.verify(checks.slice(0, 200));
  const tv = performance.now();
  const ok = await verifier.verify(checks);
  const verifyRate = checks.length / ((performance.now() - tv) / 1000);
  await verifier.close();
  if (!ok.every(Boolean)) throw new Error('a benchmark signature did not verify');
  log(`Ed25519 verification alone, one worker thread: ${Math.round(verifyRate)} signatures/s`);
  return [
    {
      bench: 'collector-ingest',
      metric: 'throughput_ratio',
      value: Number(ratio.toFixed(3)),
      unit: 'ratio',
      baseline: `Mosquitto delivering the same ${INGEST_MESSAGES} signed reports (QoS 1) to a subscriber that does nothing`,
      goal: '>=0.5',
    },
    {
      bench: 'collector-ingest',
      metric: 'reports_per_s',
      value: Math.round(med(ingest)),
      unit: 'reports/s',
      baseline: 'verify (Ed25519, 1 worker thread) + decode + dedupe + journal + store, committed',
      goal: '',
    },
    {
      bench: 'collector-verify',
      metric: 'signatures_per_s',
      value: Math.round(verifyRate),
      unit: 'signatures/s',
      baseline:
        'node:crypto Ed25519 verify of the same reports in one worker thread (no decoding, no storage)',
      goal: '',
    },
    {
      bench: 'collector-raw',
      metric: 'messages_per_s',
      value: Math.round(med(raw)),
      unit: 'messages/s',
      baseline: 'Mosquitto to a subscriber that does nothing, same messages',
      goal: '',
    },
  ];
}

/** Seeds a 1,000-device, 30-day fleet through the store's writer, as ingest would have written it. */
function seedFleet(db: string, nowMs: number, log: (line: string) => void): { manifestSha256: string } {
  const model = referenceModel('fall-detector');
  const candidate = referenceModel('fall-detector', '1.1.0', 2);
  const store = new SqliteCollectorStore(db);
  store.putSetting('bucketMs', String(H));
  const c = new Collector({ store, fleet: 'bench', options: { verifyThreads: 0 } });
  c.registerModel(model.registration);
  c.registerModel(candidate.registration);
  const cohorts = ['age=18-39', 'age=40-64', 'age=65+', 'age=65+;placement=hip'];
  const devices = Array.from({ length: 1000 }, (_, i) =>
    makeDevice('bench', `dev-${String(i).padStart(4, '0')}`, {
      cohort: cohorts[i % 4] as string,
      firmware: `fw-2.${i % 3}`,
      site: `site-${i % 10}`,
    }),
  );
  for (const d of devices) c.enrol(enrolmentOf(d));
  const rng = new Rng(30);
  const pools = new Map<string, { report: TelemetryReport; signed: Uint8Array }[]>();
  for (const cohort of cohorts) {
    const d0 = makeDevice('bench', 'pool', { cohort });
    pools.set(
      cohort,
      Array.from({ length: 24 }, (_, i) => {
        const report = simulateReport(d0, model, {
          startMs: 0,
          intervalMs: H,
          windows: 3600,
          rng,
          labelShare: 0.01,
          shadowCandidate: candidate.bundleId,
          gain: cohort === 'age=65+;placement=hip' && i % 2 === 0 ? 1.15 : 1,
        });
        return { report, signed: signedReport(d0, report) };
      }),
    );
  }
  const start = Math.floor(nowMs / DAY) * DAY - 30 * DAY;
  let reports = 0;
  const t = performance.now();
  for (let day = 0; day < 30; day++) {
    const bucketRollups = new Map<string, { key: RollupKey; agg: Aggregate }>();
    const dayRollups = new Map<string, { key: RollupKey; agg: Aggregate }>();
    const deviceDays: DeviceDay[] = [];
    store.write((w) => {
      for (const d of devices) {
        const pool = pools.get(d.cohort) ?? [];
        let covered = 0;
        let windows = 0;
        let fallback = 0;
        let alerts = 0;
        for (let h = 0; h < 24; h++) {
          const startMs = start + day * DAY + h * H;
          const { report: base, signed } = pool[(h + day) % pool.length] as {
            report: TelemetryReport;
            signed: Uint8Array;
          };
          const r = { ...base, startMs, endMs: startMs + H, cohort: d.cohort, firmwareVersion: d.firmware };
          const seq = d.seq++;
          w.insertMessage({
            device: d.device,
            seq,
            kind: 'report',
            fleet: 'bench',
            receivedMs: startMs + H,
            createdMs: startMs + H,
            kid: d.kid,
            payload: signed,
          });
          const all = r.windows.ok + r.windows.indeterminate + r.windows.fallback;
          const key = {
            manifestSha256: model.manifestSha256,
            role: 'active' as const,
            cohort: d.cohort,
            firmware: d.firmware,
            site: d.site,
          };
          w.insertReport({
            device: d.device,
            seq,
            startMs,
            endMs: startMs + H,
            ...key,
            windows: all,
            fallback: r.windows.fallback,
            driftAlarm: false,
          });
          const bk = `${startMs}|${d.cohort}|${d.firmware}|${d.site}`;
          const b = bucketRollups.get(bk) ?? {
            key: { ...key, bucketMs: startMs },
            agg: Aggregate.empty(Aggregate.ofReport(r).shape),
          };
          b.agg.addReport(r);
          bucketRollups.set(bk, b);
          const dk = `${d.cohort}|${d.firmware}|${d.site}`;
          const dd = dayRollups.get(dk) ?? {
            key: { ...key, bucketMs: start + day * DAY },
            agg: Aggregate.empty(Aggregate.ofReport(r).shape),
          };
          dd.agg.addReport(r);
          dayRollups.set(dk, dd);
          covered += H;
          windows += all;
          fallback += r.windows.fallback;
          alerts += r.alerts.model + r.alerts.fallbackRule;
          reports++;
        }
        deviceDays.push({
          dayMs: start + day * DAY,
          device: d.device,
          manifestSha256: model.manifestSha256,
          role: 'active',
          cohort: d.cohort,
          firmware: d.firmware,
          site: d.site,
          reports: 24,
          coveredMs: covered,
          windows,
          fallback,
          alerts,
          driftAlarmReports: 0,
        });
      }
      for (const b of bucketRollups.values()) w.addRollup('bucket', b.key, b.agg);
      for (const b of dayRollups.values()) w.addRollup('day', b.key, b.agg);
      for (const d of deviceDays) w.addDeviceDay(d);
    });
  }
  store.write((w) => {
    for (const d of devices) {
      w.putDevice({
        fleet: 'bench',
        device: d.device,
        online: 'online',
        bdSeq: 1,
        stateAtMs: start,
        lastSeenMs: nowMs - 600_000,
        lastReportMs: nowMs - 600_000,
        lastReportEndMs: start + 30 * DAY,
        manifestSha256: model.manifestSha256,
        modelLabel: 'fall-detector 1.0.0',
        cohort: d.cohort,
        firmware: d.firmware,
        runtime: '0.1.0',
        reports: 720,
        sequence: {
          first: 1,
          highest: d.seq - 1,
          pending: [],
          declared: [],
          late: 0,
          evicted: 0,
          lost: 0,
          overflowed: 0,
          evictedReported: 0,
        },
      });
    }
    w.addCounters({ received: reports, 'accepted.report': reports });
  });
  // Every window is evaluated already: the API figures do not include a 720-window catch-up.
  for (const k of store.rollupKeys('bucket'))
    store.setWatermark(k.manifestSha256, k.role, k.lastBucketMs + H);
  log(
    `seeded ${reports.toLocaleString('en')} reports from 1,000 devices over 30 days in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  void c.close();
  return { manifestSha256: model.manifestSha256 };
}

async function apiFigures(log: (line: string) => void, dir: string): Promise<BenchFigure[]> {
  const db = path.join(dir, 'fleet.db');
  const nowMs = Date.now();
  const { manifestSha256 } = seedFleet(db, nowMs, log);
  const size = fs.statSync(db).size;
  log(`database ${(size / 1e6).toFixed(0)} MB`);
  const collector = new Collector({
    store: new SqliteCollectorStore(db),
    fleet: 'bench',
    options: { verifyThreads: 0 },
  });
  const server = await startHttpServer(collector, { port: 0 });
  const views = [30 * DAY, DAY].map((span) => ({ from: nowMs - span, to: nowMs + 60_000 }));
  const paths: string[] = [];
  for (const v of views) {
    const q = `from=${v.from}&to=${v.to}`;
    const m = `/api/v1/models/${manifestSha256}`;
    paths.push(
      '/api/v1/overview',
      '/api/v1/models',
      '/api/v1/devices',
      '/api/v1/alerts',
      `/api/v1/incidents?${q}`,
      `${m}/drift?${q}&groupBy=cohort`,
      `${m}/drift?${q}&groupBy=site`,
      `${m}/distribution?${q}&variable=0`,
      `${m}/distribution?${q}&variable=3&group=cohort:age%3D65%2B`,
      `${m}/performance?${q}&groupBy=cohort`,
      `${m}/operations?${q}`,
    );
  }
  const times: number[] = [];
  const byPath = new Map<string, number[]>();
  try {
    for (const p of paths) await (await fetch(`${server.url}${p}`)).arrayBuffer(); // warm-up (page cache)
    for (let rep = 0; rep < 10; rep++) {
      for (const p of paths) {
        const t = performance.now();
        const res = await fetch(`${server.url}${p}`);
        await res.arrayBuffer();
        const ms = performance.now() - t;
        if (!res.ok) throw new Error(`${p}: HTTP ${res.status}`);
        times.push(ms);
        const list = byPath.get(p) ?? [];
        list.push(ms);
        byPath.set(p, list);
      }
    }
  } finally {
    await server.close();
    await collector.close();
  }
  const slowest = [...byPath.entries()]
    .map(
      ([p, xs]) =>
        [p.replace(/from=\d+&to=\d+/, 'RANGE').replace(manifestSha256, 'SHA'), percentile(xs, 95)] as const,
    )
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4);
  for (const [p, ms] of slowest) log(`p95 ${ms.toFixed(1)} ms  ${p}`);
  return [
    {
      bench: 'collector-api',
      metric: 'p95_ms',
      value: Number(percentile(times, 95).toFixed(1)),
      unit: 'ms',
      baseline: `every dashboard request (30-day and 24-hour views), 1,000 devices × 30 days of hourly reports (720,000), ${times.length} requests`,
      goal: '<200',
    },
    {
      bench: 'collector-api',
      metric: 'p50_ms',
      value: Number(percentile(times, 50).toFixed(1)),
      unit: 'ms',
      baseline: 'same requests',
      goal: '',
    },
  ];
}

export async function run(log: (line: string) => void): Promise<readonly BenchFigure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-collector-'));
  try {
    const ingest = await ingestFigures(log, dir);
    const api = await apiFigures(log, dir);
    return [...ingest, ...api];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
