// The HTTP API on a real socket: typed validation of every input, size caps, JSON-only bodies with an
// Origin check, the dashboard's static files, and the data endpoints the dashboard draws from.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Collector,
  SqliteCollectorStore,
  startHttpServer,
  type AlertRecord,
  type CollectorHttpServer,
} from '../../../../monitor/collector/index.ts';
import {
  Rng,
  enrolmentOf,
  makeDevice,
  referenceModel,
  signedReport,
  simulateReport,
  topic,
} from '../../../integration/collector/fleet-sim.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 2, 1);
const model = referenceModel('fall-detector');
let dir: string;
let collector: Collector;
let server: CollectorHttpServer;
const clock = { now: T0 };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-http-'));
  collector = new Collector({
    store: new SqliteCollectorStore(path.join(dir, 'c.db')),
    fleet: 'ward-3',
    now: () => clock.now,
    options: { verifyThreads: 0, evaluationGraceMs: 0, maxClockSkewMs: null },
  });
  collector.registerModel(model.registration);
  const rng = new Rng(9);
  const devices = ['drifted', 'control'].flatMap((cohort) =>
    [0, 1].map((i) => makeDevice('ward-3', `${cohort}-${i}`, { cohort })),
  );
  for (const d of devices) collector.enrol(enrolmentOf(d));
  for (let h = 0; h < 4; h++) {
    for (const d of devices) {
      const r = simulateReport(d, model, {
        startMs: T0 + h * H,
        intervalMs: H,
        windows: 3600,
        rng,
        gain: d.cohort === 'drifted' && h >= 1 ? 1.3 : 1,
        labelShare: 0.05,
      });
      collector.accept(topic(d, 'report'), signedReport(d, r));
    }
  }
  await collector.ingest.drain();
  clock.now = T0 + 5 * H;
  collector.tick();
  server = await startHttpServer(collector, { port: 0 });
});

afterAll(async () => {
  await server.close();
  await collector.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function get(p: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${server.url}${p}`);
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  return { status: res.status, body, headers: res.headers };
}

async function post(
  p: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const res = await fetch(`${server.url}${p}`, { method: 'POST', body, headers });
  return {
    status: res.status,
    body: (await res.json()) as { error?: { code: string } } & Partial<AlertRecord>,
  };
}

const code = (b: unknown): string | undefined => (b as { error?: { code?: string } }).error?.code;

/** A raw request with a chosen Host header (fetch may not set it). */
function withHost(p: string, host: string, method = 'GET', body = ''): Promise<number> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: Number(port),
        path: p,
        method,
        headers: { host, 'content-type': 'application/json', origin: `http://${host}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('collector HTTP API', () => {
  it('refuses requests addressed to another host name (DNS rebinding), reads and writes alike', async () => {
    expect(await withHost('/api/v1/overview', 'evil.example:80')).toBe(400);
    expect(await withHost('/', 'evil.example')).toBe(400);
    expect(await withHost('/api/v1/alerts/1/acknowledge', 'evil.example', 'POST', '{"by":"x"}')).toBe(400);
    expect(await withHost('/api/v1/overview', `localhost:${new URL(server.url).port}`)).toBe(200);
    expect(await withHost('/api/v1/overview', new URL(server.url).host)).toBe(200);
  });

  it('binds 127.0.0.1 by default and serves the dashboard with a strict CSP', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain('<script type="module" src="/static/app.js">');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await get('/static/vendor/uPlot.esm.js')).status).toBe(200);
    expect((await get('/static/app.js')).headers.get('content-type')).toContain('javascript');
    expect((await get('/static/../../package.json')).status).toBe(404);
    expect((await get('/etc/passwd')).status).toBe(404);
  });

  it('serves the data the dashboard draws', async () => {
    const range = `from=${T0}&to=${T0 + 5 * H}`;
    const models = (await get('/api/v1/models')).body as { manifestSha256: string; hasProfile: boolean }[];
    expect(models).toEqual([
      expect.objectContaining({ manifestSha256: model.manifestSha256, hasProfile: true }),
    ]);
    const base = `/api/v1/models/${model.manifestSha256}`;
    const drift = (await get(`${base}/drift?${range}&groupBy=cohort`)).body as {
      groups: string[];
      times: number[];
      variables: { series: Record<string, { finding: boolean[] }> }[];
    };
    expect(drift.groups).toEqual(['control', 'drifted']);
    expect(drift.times.length).toBe(4);
    expect(drift.variables[0]?.series.drifted?.finding).toEqual([false, true, true, true]);
    const dist = (await get(`${base}/distribution?${range}&variable=0&group=cohort:drifted`)).body as {
      counts: number[];
      reference: number[];
    };
    expect(dist.counts.length).toBe(dist.reference.length);
    const perf = (await get(`${base}/performance?${range}`)).body as { overall: { labelled: number } };
    expect(perf.overall.labelled).toBeGreaterThan(0);
    const ops = (await get(`${base}/operations?${range}`)).body as { series: unknown[] };
    expect(ops.series.length).toBe(4);
    const devices = (await get('/api/v1/devices')).body as unknown[];
    expect(devices.length).toBe(4);
    const device = (await get(`/api/v1/devices/drifted-0?${range}`)).body as {
      reports: unknown[];
      enrolments: unknown[];
    };
    expect(device.reports.length).toBe(4);
    expect(device.enrolments.length).toBe(1);
    const overview = (await get('/api/v1/overview')).body as { alerts: { open: number } };
    expect(overview.alerts.open).toBeGreaterThan(0);
    expect((await get(`/api/v1/incidents?${range}`)).status).toBe(200);
  });

  it('rejects bad query input with typed errors', async () => {
    const bad = async (p: string, status: number, c: string) => {
      const r = await get(p);
      expect([p, r.status, code(r.body)]).toEqual([p, status, c]);
    };
    await bad('/api/v1/models/zzz/drift', 400, 'BAD_REQUEST');
    await bad(`/api/v1/models/${'0'.repeat(64)}/drift`, 404, 'NOT_FOUND');
    await bad(`/api/v1/models/${model.manifestSha256}/drift?from=yesterday`, 400, 'BAD_REQUEST');
    await bad(`/api/v1/models/${model.manifestSha256}/drift?from=10&to=5`, 400, 'BAD_REQUEST');
    await bad(
      `/api/v1/models/${model.manifestSha256}/drift?from=0&to=${500 * 86_400_000}`,
      400,
      'BAD_REQUEST',
    );
    await bad(`/api/v1/models/${model.manifestSha256}/drift?groupBy=age`, 400, 'BAD_REQUEST');
    await bad(`/api/v1/models/${model.manifestSha256}/drift?role=x`, 400, 'BAD_REQUEST');
    await bad(`/api/v1/models/${model.manifestSha256}/drift?from=1&from=2`, 400, 'BAD_REQUEST');
    await bad(`/api/v1/models/${model.manifestSha256}/distribution?variable=99`, 400, 'BAD_REQUEST');
    await bad(`/api/v1/models/${model.manifestSha256}/distribution?variable=1.5`, 400, 'BAD_REQUEST');
    await bad(`/api/v1/models/${model.manifestSha256}/distribution?group=nocolon`, 400, 'BAD_REQUEST');
    await bad('/api/v1/devices/..%2Fetc', 400, 'BAD_REQUEST');
    await bad('/api/v1/devices/nobody', 404, 'NOT_FOUND');
    await bad('/api/v1/alerts/abc', 400, 'BAD_REQUEST');
    await bad('/api/v1/alerts/424242', 404, 'NOT_FOUND');
    await bad('/api/v1/alerts?state=closed', 400, 'BAD_REQUEST');
    await bad('/api/v1/nothing', 404, 'NOT_FOUND');
    await bad(`/api/v1/overview?x=${'a'.repeat(3000)}`, 413, 'TOO_LARGE');
  });

  it('acknowledges and resolves alerts through validated JSON bodies', async () => {
    const open = (await get('/api/v1/alerts?state=open')).body as AlertRecord[];
    const id = open[0]?.id ?? -1;
    expect(id).toBeGreaterThan(0);
    const ack = { by: 'Dr Ana Lima', comment: 'Checking the sensors at the site' };
    expect(
      (await post(`/api/v1/alerts/${id}/acknowledge`, JSON.stringify(ack), { 'content-type': 'text/plain' }))
        .status,
    ).toBe(400);
    expect((await post(`/api/v1/alerts/${id}/acknowledge`, '{not json')).status).toBe(400);
    expect((await post(`/api/v1/alerts/${id}/acknowledge`, '[]')).status).toBe(400);
    expect(
      code((await post(`/api/v1/alerts/${id}/acknowledge`, JSON.stringify({ ...ack, extra: 1 }))).body),
    ).toBe('BAD_REQUEST');
    expect(
      code((await post(`/api/v1/alerts/${id}/acknowledge`, JSON.stringify({ by: 7, comment: 'x' }))).body),
    ).toBe('BAD_REQUEST');
    const big = JSON.stringify({ by: 'x', comment: 'y'.repeat(20_000) });
    expect((await post(`/api/v1/alerts/${id}/acknowledge`, big)).status).toBe(413);
    const cross = await post(`/api/v1/alerts/${id}/acknowledge`, JSON.stringify(ack), {
      'content-type': 'application/json',
      origin: 'http://evil.example',
    });
    expect(cross.status).toBe(400);
    expect(code((await post(`/api/v1/alerts/${id}/resolve`, JSON.stringify(ack))).body)).toBe('CONFLICT');
    const ok = await post(`/api/v1/alerts/${id}/acknowledge`, JSON.stringify(ack));
    expect(ok.status).toBe(200);
    expect(ok.body.state).toBe('acknowledged');
    expect(code((await post(`/api/v1/alerts/${id}/acknowledge`, JSON.stringify(ack))).body)).toBe('CONFLICT');
    const done = await post(
      `/api/v1/alerts/${id}/resolve`,
      JSON.stringify({ by: 'Bo QA', comment: 'Recalibrated' }),
    );
    expect(done.body.state).toBe('resolved');
    const detail = (await get(`/api/v1/alerts/${id}`)).body as { history: { action: string }[] };
    expect(detail.history.map((x) => x.action)).toEqual(['opened', 'acknowledged', 'resolved']);
    expect((await fetch(`${server.url}/api/v1/overview`, { method: 'DELETE' })).status).toBe(400);
  });
});
