// The dashboard in real headless Chromium: a collector fed by simulated devices (real signed reports,
// one MQTT client per device with birth/death, through an in-process Aedes broker), its page loads, every
// chart draws on its canvas, an alert is acknowledged by a named person from the page, and screenshots
// are written to a temp directory (their paths are printed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Collector,
  SqliteCollectorStore,
  connectMqttSource,
  startHttpServer,
  type AlertRecord,
  type CollectorHttpServer,
  type MqttSource,
} from '../../monitor/collector/index.ts';
import { startAedes, type BrokerHandle } from '../integration/mqtt/brokers.ts';
import { encodeReportPayload } from '../../monitor/report/index.ts';
import {
  Rng,
  enrolmentOf,
  makeDevice,
  referenceModel,
  simulateReport,
  topic,
} from '../integration/collector/fleet-sim.ts';
import {
  connectDevice,
  publishReports,
  waitForIngest,
  type OnlineDevice,
} from '../integration/collector/publish.ts';
import { launchChromium } from './chromium.ts';

const H = 3_600_000;
const HOURS = 8;
const model = referenceModel('fall-detector');
const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-dashboard-'));

let broker: BrokerHandle;
let collector: Collector;
let source: MqttSource;
let http: CollectorHttpServer;
let browser: Browser;
let page: Page;
let devices: OnlineDevice[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  broker = await startAedes();
  collector = new Collector({
    store: new SqliteCollectorStore(path.join(shots, 'collector.db')),
    fleet: 'ward-3',
    options: { verifyThreads: 1, evaluationGraceMs: 0 },
  });
  collector.registerModel(model.registration);
  const sims = ['drifted', 'control-a', 'control-b'].flatMap((cohort, c) =>
    [0, 1, 2].map((i) => makeDevice('ward-3', `${cohort}-${i}`, { cohort, site: `site-${(c + i) % 2}` })),
  );
  for (const d of sims) collector.enrol(enrolmentOf(d));
  collector.start();
  source = await connectMqttSource({ url: broker.url, fleet: 'ward-3', clean: true }, collector);
  http = await startHttpServer(collector, { port: 0 });
  devices = await Promise.all(sims.map((d, i) => connectDevice(broker.url, d, i + 1)));
  const t0 = Math.floor(Date.now() / H) * H - HOURS * H;
  const sent = await publishReports(devices, model, {
    t0,
    hours: HOURS,
    rng: new Rng(42),
    gain: (d, h) => (d.cohort === 'drifted' && h >= 3 ? 1.3 : 1),
  });
  // Something the collector must refuse and count: a report without its signature.
  const first = devices[0] as OnlineDevice;
  const unsigned = encodeReportPayload(
    simulateReport(first.device, model, { startMs: t0, intervalMs: H, windows: 100, rng: new Rng(1) }),
  );
  await first.client.publishAsync(topic(first.device, 'report'), Buffer.from(unsigned), { qos: 1 });
  await waitForIngest(collector, sent + 1 + devices.length);
  collector.tick();
  // One device goes away without a goodbye: the broker publishes its Last Will (offline).
  const last = devices.pop() as OnlineDevice;
  last.client.stream.destroy();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
}, 60_000);

afterAll(async () => {
  await browser.close();
  for (const d of devices) await d.client.endAsync(true);
  await source.close();
  await http.close();
  await collector.close();
  await broker.stop();
  // Keep the screenshots, not the database.
  for (const f of fs.readdirSync(shots))
    if (!f.endsWith('.png')) fs.rmSync(path.join(shots, f), { force: true });
});

// Browser-side code as source text: the project's TypeScript has no DOM library.
const INKED_CHARTS = `Array.from(document.querySelectorAll('[data-chart]'), (el) => {
  const canvas = el.querySelector('canvas');
  let inked = false;
  if (canvas) {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) { inked = true; break; }
  }
  return { name: el.dataset.chart, inked };
})`;

const DEVICE_ROWS = `Array.from(document.querySelectorAll('#device-table tbody tr'), (tr) =>
  Array.from(tr.querySelectorAll('td'), (td) => td.textContent))`;

async function inkedCharts(p: Page): Promise<{ name: string; inked: boolean }[]> {
  return p.evaluate<{ name: string; inked: boolean }[]>(INKED_CHARTS);
}

describe('dashboard in headless Chromium', () => {
  it('shows the fleet overview with the rejection counters', async () => {
    await page.goto(`${http.url}/`);
    await page.waitForSelector('body[data-ready="overview"]');
    expect(await page.textContent('#rejected-total')).toBe('1');
    expect(await page.textContent('#rejections')).toContain('UNSIGNED');
    expect(await page.textContent('#view-overview')).toContain('fall-detector 1.0.0');
    const file = path.join(shots, 'overview.png');
    await page.screenshot({ path: file, fullPage: true });
    process.stdout.write(`dashboard screenshot: ${file}\n`);
  });

  it('draws every chart of a model version (drift with thresholds, distributions, reliability, fallbacks, burden)', async () => {
    await page.goto(`${http.url}/#model`);
    await page.waitForSelector('body[data-ready="model"]');
    await page.waitForSelector('[data-chart="distribution"] canvas');
    const charts = await inkedCharts(page);
    const names = charts.map((c) => c.name);
    for (const expected of [
      'drift-0',
      'distribution',
      'reliability',
      'performance',
      'fallback',
      'fallback-reasons',
      'alert-burden',
      'latency',
    ]) {
      expect(names).toContain(expected);
    }
    expect(names.filter((n) => n.startsWith('drift-')).length).toBe(model.profile.features.length + 1);
    expect(charts.filter((c) => !c.inked)).toEqual([]);
    expect(await page.textContent('#view-model')).toContain('fall-detector@1.1.0'); // shadow agreement table
    const file = path.join(shots, 'model.png');
    await page.screenshot({ path: file, fullPage: true });
    process.stdout.write(`dashboard screenshot: ${file}\n`);
  });

  it('lists devices with their online state, model and gaps', async () => {
    await page.goto(`${http.url}/#devices`);
    await page.waitForSelector('body[data-ready="devices"]');
    const rows = await page.evaluate<(string | null)[][]>(DEVICE_ROWS);
    expect(rows.length).toBe(9);
    expect(rows.every((r) => r[2] === 'fall-detector 1.0.0')).toBe(true);
    expect(rows.filter((r) => r[1] === 'online').length).toBeGreaterThanOrEqual(8);
  });

  it('acknowledges an alert of the drifted cohort by name from the page', async () => {
    const before = (await (await fetch(`${http.url}/api/v1/alerts?state=open`)).json()) as AlertRecord[];
    expect(before.length).toBeGreaterThan(0);
    expect(new Set(before.map((a) => a.groupValue))).toEqual(new Set(['drifted']));
    await page.goto(`${http.url}/#alerts`);
    await page.waitForSelector('body[data-ready="alerts"]');
    const form = page.locator('form.ack[data-action="acknowledge"]').first();
    const id = Number(await form.getAttribute('data-alert'));
    await form.locator('input[name="by"]').fill('Dr Ana Lima');
    await form
      .locator('input[name="comment"]')
      .fill('Gain drift on the drifted cohort; site asked to check the sensors');
    await form.locator('button').click();
    await page.waitForSelector(`tr[data-alert-id="${id}"][data-state="acknowledged"]`);
    const after = (await (await fetch(`${http.url}/api/v1/alerts/${id}`)).json()) as AlertRecord & {
      history: { action: string; by: string }[];
    };
    expect(after.state).toBe('acknowledged');
    expect(after.acknowledged?.by).toBe('Dr Ana Lima');
    expect(after.history.map((h) => h.action)).toEqual(['opened', 'acknowledged']);
    const file = path.join(shots, 'alerts.png');
    await page.screenshot({ path: file, fullPage: true });
    process.stdout.write(`dashboard screenshot: ${file}\n`);
  });
});
