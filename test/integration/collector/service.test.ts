// `vigil collector` as a real child process: it subscribes to a broker, takes a signed report, serves
// the API on 127.0.0.1, and stops cleanly on SIGTERM (journal empty, exit 0).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Collector, SqliteCollectorStore } from '../../../monitor/collector/index.ts';
import { freePort, startAedes } from '../mqtt/brokers.ts';
import {
  REPO,
  Rng,
  enrolmentOf,
  makeDevice,
  referenceModel,
  signedReport,
  simulateReport,
  topic,
} from './fleet-sim.ts';
import { connectDevice } from './publish.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until<T>(f: () => Promise<T | null>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('vigil collector (service)', () => {
  it('runs against a broker, serves the API, and stops on SIGTERM', async () => {
    const broker = await startAedes();
    cleanups.push(() => broker.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-collector-service-'));
    cleanups.push(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const db = path.join(dir, 'collector.db');
    const model = referenceModel('fall-detector');
    const d = makeDevice('ward-3', 'bed-1');
    const setup = new Collector({
      store: new SqliteCollectorStore(db),
      fleet: 'ward-3',
      options: { verifyThreads: 0 },
    });
    setup.registerModel(model.registration);
    setup.enrol(enrolmentOf(d));
    await setup.close();
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        'scripts/vigil.js',
        'collector',
        '--mqtt',
        broker.url,
        '--db',
        db,
        '--http',
        `127.0.0.1:${port}`,
        '--fleet',
        'ward-3',
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => {
        resolve(code);
      });
    });
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await until(
      () => Promise.resolve(stdout.includes('dashboard http://127.0.0.1') ? true : null),
      `the collector to start (${stderr})`,
    );
    const device = await connectDevice(broker.url, d, 1);
    cleanups.push(() => device.client.endAsync(true));
    const r = simulateReport(d, model, {
      startMs: Date.UTC(2026, 0, 1),
      intervalMs: 3_600_000,
      windows: 600,
      rng: new Rng(1),
    });
    await device.client.publishAsync(topic(d, 'report'), Buffer.from(signedReport(d, r)), { qos: 1 });
    const overview = await until(async () => {
      const o = (await (await fetch(`http://127.0.0.1:${port}/api/v1/overview`)).json()) as {
        ingest: { accepted: { report: number } };
        devices: { online: number };
      };
      return o.ingest.accepted.report === 1 ? o : null;
    }, 'the report through the API');
    expect(overview.devices.online).toBe(1);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('collector started');
    const after = new SqliteCollectorStore(db);
    expect(after.journal(10)).toEqual([]);
    expect(after.counters()['accepted.report']).toBe(1);
    after.close();
  }, 60_000);
});
