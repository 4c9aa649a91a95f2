// The post-market surveillance report through the CLI: `vigil report --out --pdf` on a collector
// database with a drifted cohort, an acknowledged and a resolved alert and incidents; the PDF is printed
// by headless Chromium (page.pdf). A screenshot of the HTML is written next to it (path printed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Collector, SqliteCollectorStore } from '../../monitor/collector/index.ts';
import { main } from '../../scripts/cli/main.ts';
import {
  Rng,
  enrolmentOf,
  makeDevice,
  referenceModel,
  safetyEvent,
  signedReport,
  simulateReport,
  topic,
} from '../integration/collector/fleet-sim.ts';
import { launchChromium } from './chromium.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 4, 4);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-report-'));
const db = path.join(dir, 'collector.db');

beforeAll(async () => {
  const clock = { now: T0 };
  const c = new Collector({
    store: new SqliteCollectorStore(db),
    fleet: 'ward-3',
    now: () => clock.now,
    options: { verifyThreads: 0, evaluationGraceMs: 0 },
  });
  const model = referenceModel('fall-detector');
  const candidate = referenceModel('fall-detector', '1.1.0', 2);
  c.registerModel(model.registration);
  c.registerModel(candidate.registration);
  const devices = ['drifted', 'control'].flatMap((cohort) =>
    [0, 1].map((i) => makeDevice('ward-3', `${cohort}-${i}`, { cohort })),
  );
  for (const d of devices) c.enrol(enrolmentOf(d));
  const rng = new Rng(8);
  for (let h = 0; h < 12; h++) {
    clock.now = T0 + (h + 1) * H; // each hour's reports arrive as it ends
    for (const d of devices) {
      const opts = { startMs: T0 + h * H, intervalMs: H, windows: 3600, rng, labelShare: 0.03 };
      const r = simulateReport(d, model, {
        ...opts,
        gain: d.cohort === 'drifted' && h >= 4 ? 1.3 : 1,
        shadowCandidate: candidate.bundleId,
      });
      c.accept(topic(d, 'report'), signedReport(d, r));
      const s = simulateReport(d, candidate, { ...opts, role: 'shadow' });
      c.accept(topic(d, 'report'), signedReport(d, s));
    }
    await c.ingest.drain();
    c.tick();
  }
  const d0 = devices[0];
  if (d0)
    c.accept(
      topic(d0, 'event'),
      safetyEvent(d0, 'rollback', T0 + 11 * H, {
        family: 'fall-detector',
        bundleId: candidate.bundleId,
        detail: 'probation failed',
      }),
    );
  await c.ingest.drain();
  const open = c.store.alerts({ state: 'open' });
  const [first, second] = open;
  if (first && second) {
    c.alerts.acknowledge(first.id, 'Dr Ana Lima', 'Site checking the sensors');
    c.alerts.acknowledge(second.id, 'Bo QA', 'Known firmware gain issue');
    c.alerts.resolve(second.id, 'Bo QA', 'Firmware 1.0.1 rolled out; gain corrected');
  }
  await c.close();
}, 60_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('vigil report', () => {
  it('writes HTML and a PDF printed by headless Chromium', async () => {
    const html = path.join(dir, 'report.html');
    const pdf = path.join(dir, 'report.pdf');
    const err: string[] = [];
    const spy = vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
    let code: number;
    try {
      code = await main([
        'report',
        '--db',
        db,
        '--model',
        'fall-detector',
        '--from',
        '2026-05-04T00:00:00Z',
        '--to',
        '2026-05-05T00:00:00Z',
        '--out',
        html,
        '--pdf',
        pdf,
      ]);
    } finally {
      spy.mockRestore();
    }
    expect([code, err.join('')]).toEqual([0, expect.stringContaining('report.pdf')]);
    const text = fs.readFileSync(html, 'utf8');
    expect(text).toContain('fall-detector 1.0.0');
    expect(text).toContain('fall-detector 1.1.0');
    expect(text).toContain('Drift in cohort &quot;drifted&quot;');
    expect(text).toContain('Dr Ana Lima');
    expect(text).toContain('Firmware 1.0.1 rolled out');
    expect(text).toContain('probation failed');
    expect(text).toContain('Shadow candidate');
    const bytes = fs.readFileSync(pdf);
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(bytes.length).toBeGreaterThan(20_000);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
      await page.goto(`file://${html}`);
      const keep = path.join(os.tmpdir(), `vigil-report-${process.pid}`);
      await page.screenshot({ path: `${keep}.png`, fullPage: true });
      fs.copyFileSync(html, `${keep}.html`);
      fs.copyFileSync(pdf, `${keep}.pdf`);
      process.stdout.write(`surveillance report: ${keep}.html, ${keep}.pdf, screenshot ${keep}.png\n`);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
