// The fleet demo (`vigil demo`, `npm start`) and `vigil simulate fleet`: a broker (embedded Aedes, or
// any broker by URL), optionally the collector with its dashboard, a fleet of real device daemons
// with simulated wearers, a scenario played in real time and narrated, then a summary judged from
// the devices' own state and what the collector holds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planFleet, runScenario, type RunResult, type Scenario } from '../../simulator/fleet/index.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.ts';
import { checkExpectations, readDeviceFacts, type CheckOutcome, type DeviceFacts } from './checks.ts';
import { DemoFleetHost } from './fleet-host.ts';
import { createNarrator } from './narrator.ts';

export interface FleetDemoOptions {
  readonly scenario: Scenario;
  /** Demo keys live here (kept); this run's state goes to `<demoDir>/run-<fleet>` (replaced). */
  readonly demoDir: string;
  readonly devices?: number;
  readonly durationS?: number;
  /** A broker URL; without one the demo starts embedded Aedes. */
  readonly brokerUrl?: string;
  /** Run the embedded collector (and its dashboard at `http`, null: none). */
  readonly collector: { readonly http: { host: string; port: number } | null } | null;
  readonly out: (line: string) => void;
  readonly progressBar: boolean;
  readonly signal?: AbortSignal;
  /** The run directory (default `<demoDir>/run-<fleet>`). */
  readonly runDir?: string;
  /** Keep the bundles and device keys of an earlier `prepareFleet` in the run directory. */
  readonly reuse?: boolean;
  /** The collector is up (its dashboard URL, or null), before the devices start. */
  readonly onReady?: (dashboardUrl: string | null) => void;
}

export interface FleetDemoResult {
  readonly run: RunResult;
  readonly checks: readonly CheckOutcome[];
  readonly devices: ReadonlyMap<string, DeviceFacts>;
  readonly host: DemoFleetHost;
  readonly dashboardUrl: string | null;
  readonly runDir: string;
  /** Closes the collector, proxies and broker (after the caller read what it wanted). */
  close(): Promise<void>;
}

/** Waits until the collector has taken in every message the devices' outboxes say they delivered. */
async function settle(
  host: DemoFleetHost,
  facts: () => Promise<Map<string, DeviceFacts>>,
  timeoutMs: number,
) {
  const c = host.collector?.collector;
  let latest = await facts();
  if (!c) return latest;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const behind = [...latest.values()].filter((f) => {
      const seq = c.store.device(f.id)?.sequence;
      const sent = f.outbox.written - f.outbox.evicted;
      return (
        sent > 0 &&
        (seq === null || seq === undefined || seq.highest < f.outbox.written || seq.pending.length > 0)
      );
    });
    if ((behind.length === 0 && c.ingest.queued === 0) || Date.now() > deadline) return latest;
    await new Promise((resolve) => setTimeout(resolve, 250));
    latest = await facts();
  }
}

/**
 * Empties a run directory; with `keep`, what a preparation made stays: demo keys, bundles, enrolment
 * records, the device keys (enrolled at a collector) — never the device state.
 */
export function resetRunDir(runDir: string, keep: boolean): void {
  if (!keep) {
    fs.rmSync(runDir, { recursive: true, force: true });
    fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
    return;
  }
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  for (const entry of fs.readdirSync(runDir)) {
    if (entry === 'bundles' || entry === 'enrolments' || entry === 'demo-keys') continue;
    const full = path.join(runDir, entry);
    if (entry !== 'devices') {
      fs.rmSync(full, { recursive: true, force: true });
      continue;
    }
    for (const device of fs.readdirSync(full)) {
      const dir = path.join(full, device);
      if (!fs.statSync(dir).isDirectory()) {
        fs.rmSync(dir, { force: true });
        continue;
      }
      for (const inner of fs.readdirSync(dir)) {
        if (inner !== 'keys') fs.rmSync(path.join(dir, inner), { recursive: true, force: true });
      }
    }
  }
}

export interface PrepareFleetOptions {
  readonly scenario: Scenario;
  readonly demoDir: string;
  readonly runDir: string;
  readonly devices?: number;
  readonly brokerUrl: string;
  /** Enrol the device keys and register the bundles in this collector database too. */
  readonly collectorDb?: string;
  readonly out: (line: string) => void;
}

/**
 * `vigil simulate fleet --prepare`: bundles, device keys and signed enrolment records in the run
 * directory, so that a collector can enrol the devices before they first publish.
 */
export async function prepareFleet(options: PrepareFleetOptions): Promise<void> {
  resetRunDir(options.runDir, false);
  const narrator = createNarrator({ out: options.out, progressBar: false });
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-fleet-'));
  const host = new DemoFleetHost({
    demoDir: options.demoDir,
    runDir: options.runDir,
    socketDir,
    brokerUrl: options.brokerUrl,
    collector: null,
    narrator,
    ...(options.collectorDb === undefined ? {} : { collectorDb: options.collectorDb }),
  });
  try {
    await host.prepare(
      planFleet(options.scenario, options.devices === undefined ? {} : { devices: options.devices }),
    );
  } finally {
    await host.close();
    fs.rmSync(socketDir, { recursive: true, force: true });
  }
}

export async function runFleetDemo(options: FleetDemoOptions): Promise<FleetDemoResult> {
  const s = options.scenario;
  const narrator = createNarrator({ out: options.out, progressBar: options.progressBar });
  const runDir = options.runDir ?? path.join(options.demoDir, `run-${s.fleet}`);
  resetRunDir(runDir, options.reuse === true);
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-fleet-'));
  let broker: EmbeddedBroker | null = null;
  const brokerUrl = options.brokerUrl ?? (broker = await startEmbeddedBroker()).url;
  options.out(`Vigil fleet scenario "${s.name}": ${s.title}`);
  options.out(
    `  broker ${brokerUrl}${broker ? ' (embedded Aedes, MQTT 3.1.1)' : ''} · run directory ${runDir}`,
  );
  const host = new DemoFleetHost({
    demoDir: options.demoDir,
    runDir,
    socketDir,
    brokerUrl,
    collector: options.collector,
    narrator,
    reuse: options.reuse === true,
    onPrepared: () => {
      options.onReady?.(host.collector?.http?.url ?? null);
    },
    onStarted: (t0) => {
      narrator.setStart(t0);
    },
  });
  const closeAll = async () => {
    narrator.stop();
    await host.close().catch(() => undefined);
    await broker?.close().catch(() => undefined);
    fs.rmSync(socketDir, { recursive: true, force: true });
  };
  try {
    const run = await runScenario(s, host, narrator, {
      ...(options.devices === undefined ? {} : { devices: options.devices }),
      ...(options.durationS === undefined ? {} : { durationS: options.durationS }),
      ...(options.signal ? { signal: options.signal } : {}),
      startConcurrency: 4,
    }).catch((error: unknown) => {
      narrator.stop();
      throw error;
    });
    narrator.stop();
    narrator.say(
      run.aborted
        ? 'Interrupted: stopping every device cleanly…'
        : 'Scenario over: stopping every device cleanly…',
    );
    await host.stopDevices();
    const kit = host.kit;
    if (kit === null) throw new Error('the host was not prepared');
    const c = host.collector?.collector ?? null;
    const readFacts = async () => {
      const out = new Map<string, DeviceFacts>();
      for (const d of run.plan.devices) {
        const external = c === null ? [] : c.store.checkpoints(d.id, 100_000).map((x) => x.signed);
        out.set(d.id, await readDeviceFacts(d.id, d.cohort, host.deviceDir(d.id), external));
      }
      return out;
    };
    const devices = await settle(host, readFacts, 15_000);
    c?.tick();
    const checks = checkExpectations({
      plan: run.plan,
      run,
      kit,
      devices,
      pushes: host.pushes,
      collector: c,
    });
    return {
      run,
      checks,
      devices,
      host,
      dashboardUrl: host.collector?.http?.url ?? null,
      runDir,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The closing summary: what happened, and each expectation judged. */
export function summaryLines(result: FleetDemoResult): string[] {
  const { run, devices } = result;
  const c = result.host.collector?.collector ?? null;
  const lines: string[] = [
    '',
    `Summary of "${run.plan.scenario.name}": ${run.plan.devices.length} devices, ${((run.endedMs - run.t0Ms) / 1000).toFixed(0)} s${run.aborted ? ' (interrupted)' : ''}`,
  ];
  let windows = 0;
  let alerts = 0;
  let dropped = 0;
  let labels = 0;
  let accepted = 0;
  for (const fw of run.firmware.values()) {
    windows += fw.results;
    alerts += fw.alerts;
    dropped += fw.framesDropped;
    labels += fw.labels;
    accepted += fw.labelsAccepted;
  }
  lines.push(
    `  firmware: ${windows} results and ${alerts} alerts received over the bridge; ` +
      `${labels} ground-truth labels sent back (${accepted} joined to their result)` +
      (dropped > 0 ? `; ${dropped} sample frames lost while a runtime was down` : ''),
  );
  let written = 0;
  for (const f of devices.values()) written += f.outbox.written;
  lines.push(
    `  devices: ${written} signed messages written to their outboxes (reports, checkpoints, events, statuses)`,
  );
  if (c !== null) {
    const o = c.overview();
    lines.push(
      `  collector: ${o.ingest.accepted.report} reports, ${o.ingest.accepted.checkpoint} checkpoints, ` +
        `${o.ingest.accepted.updateStatus} update statuses, ${o.ingest.accepted.safetyEvent} safety events; ` +
        `${o.ingest.duplicates} redeliveries dropped; ${o.ingest.totalRejected} rejected; alerts open ${o.alerts.open}, acknowledged ${o.alerts.acknowledged}`,
    );
  }
  for (const check of result.checks) {
    const mark = check.ok === null ? '–' : check.ok ? '✓' : '✗';
    lines.push(`  ${mark} ${check.name}: ${check.detail}`);
  }
  return lines;
}
