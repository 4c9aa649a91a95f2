// The collector's HTTP side (docs/collector.md "API"): a JSON API under /api/v1 and the dashboard's
// static files (plain ES modules and uPlot from node_modules: no build step). Bound to 127.0.0.1 by
// default. Every input is validated: URL and body size caps before parsing, typed query parameters,
// JSON bodies only (with an Origin check, so another site cannot post into it), typed error codes.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReportRole } from '../report/index.ts';
import type { Collector } from './collector.ts';
import { CollectorError, type CollectorErrorCode } from './errors.ts';
import {
  GROUP_DIMENSIONS,
  type AlertState,
  type GroupDimension,
  type IncidentKind,
  type RollupLevel,
} from './types.ts';

export const HTTP_LIMITS = Object.freeze({
  maxUrlChars: 2048,
  maxBodyBytes: 16 * 1024,
  maxRangeMs: 400 * 86_400_000,
});
const DEFAULT_RANGE_MS = 7 * 86_400_000;

const STATIC_DIR = fileURLToPath(new URL('./dashboard/static/', import.meta.url));
const require = createRequire(import.meta.url);

/** Files the dashboard may load: name → [absolute path, content type]. Nothing else is served. */
function staticFiles(): Map<string, readonly [string, string]> {
  const uplotJs = require.resolve('uplot/dist/uPlot.esm.js');
  return new Map([
    ['/', [path.join(STATIC_DIR, 'index.html'), 'text/html; charset=utf-8']],
    ['/index.html', [path.join(STATIC_DIR, 'index.html'), 'text/html; charset=utf-8']],
    ['/static/app.js', [path.join(STATIC_DIR, 'app.js'), 'text/javascript; charset=utf-8']],
    ['/static/charts.js', [path.join(STATIC_DIR, 'charts.js'), 'text/javascript; charset=utf-8']],
    ['/static/style.css', [path.join(STATIC_DIR, 'style.css'), 'text/css; charset=utf-8']],
    ['/static/vendor/uPlot.esm.js', [uplotJs, 'text/javascript; charset=utf-8']],
    [
      '/static/vendor/uPlot.min.css',
      [path.join(path.dirname(uplotJs), 'uPlot.min.css'), 'text/css; charset=utf-8'],
    ],
  ]);
}

function status(code: CollectorErrorCode): number {
  switch (code) {
    case 'BAD_REQUEST':
    case 'BAD_PROFILE':
    case 'BAD_ENROLMENT':
    case 'BAD_MESSAGE':
    case 'BAD_OPTIONS':
    case 'PROFILE_MISMATCH':
      return 400;
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
      return 409;
    case 'TOO_LARGE':
      return 413;
    case 'STORE_FAILED':
    case 'REPORT_FAILED':
      return 500;
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
};

function bad(message: string): never {
  throw new CollectorError('BAD_REQUEST', message);
}

/** Typed access to query parameters (each at most once). */
class Query {
  constructor(private readonly params: URLSearchParams) {
    const seen = new Set<string>();
    for (const k of params.keys()) {
      if (seen.has(k)) bad(`parameter ${k} is given twice`);
      seen.add(k);
    }
  }

  str(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  time(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined || v === '') return undefined;
    const ms = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(ms) || ms < 0) bad(`${name} must be ms since the epoch or an ISO 8601 time`);
    return ms;
  }

  int(name: string, min: number, max: number): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^-?\d{1,12}$/.test(v)) bad(`${name} must be an integer`);
    const n = Number(v);
    if (n < min || n > max) bad(`${name} must be in [${min}, ${max}]`);
    return n;
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) bad(`${name} must be one of ${values.join(', ')}`);
    return v as T;
  }

  /** `to` defaults to now, or to the end of the newest data when devices' clocks run ahead. */
  range(nowMs: number, latestMs = nowMs): { fromMs: number; toMs: number } {
    const toMs = this.time('to') ?? Math.max(nowMs, latestMs) + 1;
    const fromMs = this.time('from') ?? toMs - DEFAULT_RANGE_MS;
    if (!(fromMs < toMs)) bad('from must be before to');
    if (toMs - fromMs > HTTP_LIMITS.maxRangeMs) bad('the range may cover at most 400 days');
    return { fromMs, toMs };
  }

  role(): ReportRole {
    return this.oneOf('role', ['active', 'shadow'] as const) ?? 'active';
  }

  resolution(): RollupLevel | undefined {
    return this.oneOf('resolution', ['bucket', 'day'] as const);
  }
}

const SHA = /^[0-9a-f]{64}$/;
const DEVICE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const INCIDENT_KINDS: readonly IncidentKind[] = [
  'rollback',
  'freeze',
  'unfreeze',
  'revocation',
  'bundle-integrity',
  'suppression',
  'drift-alarm',
  'update-rejected',
  'audit-chain',
  'equivocation',
  'other',
];

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json(;|$)/i.test(type)) bad('the body must be application/json');
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > HTTP_LIMITS.maxBodyBytes) {
    throw new CollectorError('TOO_LARGE', `the body may be at most ${HTTP_LIMITS.maxBodyBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > HTTP_LIMITS.maxBodyBytes) {
      throw new CollectorError('TOO_LARGE', `the body may be at most ${HTTP_LIMITS.maxBodyBytes} bytes`);
    }
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    bad('the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    bad('the body must be a JSON object');
  return value as Record<string, unknown>;
}

function onlyKeys(body: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(body)) if (!keys.includes(k)) bad(`unknown field ${k}`);
}

/** Routes one request; returns [status, JSON body]. */
export async function handleApi(
  collector: Collector,
  method: string,
  url: URL,
  req: http.IncomingMessage | null,
): Promise<unknown> {
  const parts = url.pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'api' || parts[1] !== 'v1') throw new CollectorError('NOT_FOUND', 'no such path');
  const q = new Query(url.searchParams);
  const nowMs = collector.now();
  const latestMs = collector.latestDataMs();
  const [, , resource, id, sub, extra] = parts;
  if (extra !== undefined) throw new CollectorError('NOT_FOUND', 'no such path');
  if (method === 'POST') {
    if (resource === 'alerts' && id !== undefined && (sub === 'acknowledge' || sub === 'resolve')) {
      if (!/^\d{1,12}$/.test(id)) bad('alert ids are integers');
      if (req === null) bad('a body is required');
      const body = await readJson(req);
      onlyKeys(body, ['by', 'comment']);
      const alertId = Number(id);
      return sub === 'acknowledge'
        ? collector.alerts.acknowledge(alertId, body.by, body.comment)
        : collector.alerts.resolve(alertId, body.by, body.comment);
    }
    throw new CollectorError('NOT_FOUND', 'no such path');
  }
  if (method !== 'GET') bad(`method ${method} is not allowed`);
  switch (resource ?? '') {
    case 'overview':
      if (id !== undefined) break;
      return collector.overview();
    case 'models': {
      if (id === undefined) {
        const keys = collector.store.rollupKeys('bucket');
        return collector.store.models().map((m) => ({
          ...collector.analytics.modelSummary(m),
          roles: keys.filter((k) => k.manifestSha256 === m.manifestSha256).map((k) => k.role),
        }));
      }
      if (!SHA.test(id)) bad('a model version is named by its manifest SHA-256 (64 hex digits)');
      const range = { ...q.range(nowMs, latestMs), role: q.role() };
      const resolution = q.resolution();
      const r = resolution === undefined ? range : { ...range, resolution };
      const groupBy = q.oneOf<GroupDimension>('groupBy', GROUP_DIMENSIONS);
      switch (sub) {
        case undefined: {
          const { model } = collector.analytics.model(id);
          return {
            ...collector.analytics.modelSummary(model),
            usage: collector.analytics.usage({ ...range, manifestSha256: id }),
          };
        }
        case 'drift':
          return collector.analytics.drift(id, groupBy === undefined ? r : { ...r, groupBy });
        case 'distribution': {
          const variable = q.int('variable', 0, 1024) ?? 0;
          const g = q.str('group');
          let group: { dim: GroupDimension; value: string } | undefined;
          if (g !== undefined) {
            const at = g.indexOf(':');
            const dim = g.slice(0, at);
            if (at < 0 || !(GROUP_DIMENSIONS as readonly string[]).includes(dim))
              bad('group must be DIM:VALUE');
            group = { dim: dim as GroupDimension, value: g.slice(at + 1) };
          }
          return collector.analytics.distribution(id, group ? { ...r, variable, group } : { ...r, variable });
        }
        case 'performance':
          return collector.analytics.performance(id, groupBy === undefined ? r : { ...r, groupBy });
        case 'operations':
          return collector.analytics.operations(id, r);
        default:
          break;
      }
      break;
    }
    case 'devices': {
      if (id === undefined) return collector.devices();
      if (!DEVICE.test(id) || sub !== undefined) bad('bad device id');
      const device = collector.devices().find((d) => d.device === id);
      if (device === undefined) throw new CollectorError('NOT_FOUND', `no device ${id}`);
      const range = q.range(nowMs, latestMs);
      return {
        ...device,
        checkpoints: collector.store.checkpoints(id, 50).map(({ signed: _signed, ...c }) => c),
        incidents: collector.store.incidents({ ...range, device: id, limit: 200 }),
        reports: collector.store.reports({ ...range, device: id, limit: 500 }),
        enrolments: collector.enrolments
          .list()
          .filter((e) => e.device === id)
          .map(({ record: _record, publicKey, ...e }) => ({
            ...e,
            publicKey: Buffer.from(publicKey).toString('hex'),
          })),
      };
    }
    case 'alerts': {
      if (id === undefined) {
        const state = q.oneOf<AlertState>('state', ['open', 'acknowledged', 'resolved']);
        const model = q.str('model');
        if (model !== undefined && !SHA.test(model)) bad('model must be a manifest SHA-256');
        return collector.store.alerts({
          ...(state === undefined ? {} : { state }),
          ...(model === undefined ? {} : { manifestSha256: model }),
          limit: q.int('limit', 1, 5000) ?? 500,
        });
      }
      if (!/^\d{1,12}$/.test(id) || sub !== undefined) bad('alert ids are integers');
      const alertId = Number(id);
      return { ...collector.alerts.get(alertId), history: collector.alerts.history(alertId) };
    }
    case 'incidents': {
      if (id !== undefined) break;
      const device = q.str('device');
      if (device !== undefined && !DEVICE.test(device)) bad('bad device id');
      const kind = q.oneOf<IncidentKind>('kind', INCIDENT_KINDS);
      return collector.store.incidents({
        ...q.range(nowMs, latestMs),
        ...(device === undefined ? {} : { device }),
        ...(kind === undefined ? {} : { kinds: [kind] }),
        limit: q.int('limit', 1, 10_000) ?? 1000,
      });
    }
    default:
      break;
  }
  throw new CollectorError('NOT_FOUND', 'no such path');
}

export interface HttpServerOptions {
  readonly host?: string;
  readonly port?: number;
  /**
   * Host names (without port) requests may be addressed to; anything else is refused, so that a page
   * on a domain re-bound to this address (DNS rebinding) cannot read the API or acknowledge alerts.
   * Default: localhost, 127.0.0.1, [::1] and the address bound. Behind a reverse proxy, list its names.
   */
  readonly allowedHosts?: readonly string[];
}

export interface CollectorHttpServer {
  readonly url: string;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** The Host header's name (no port), lower-case; null when absent or malformed. */
function hostName(req: http.IncomingMessage): string | null {
  const host = req.headers.host;
  if (host === undefined || host.length > 300) return null;
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

function sameOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Starts the API + dashboard server (127.0.0.1:8080 by default; port 0 picks a free one). */
export async function startHttpServer(
  collector: Collector,
  options: HttpServerOptions = {},
): Promise<CollectorHttpServer> {
  const files = staticFiles();
  const host = options.host ?? '127.0.0.1';
  const allowedHosts = new Set(
    (
      options.allowedHosts ?? ['localhost', '127.0.0.1', '[::1]', host.includes(':') ? `[${host}]` : host]
    ).map((h) => h.toLowerCase()),
  );
  const server = http.createServer((req, res) => {
    void (async () => {
      const send = (
        code: number,
        body: string | Buffer,
        type: string,
        extraHeaders: Record<string, string> = {},
      ) => {
        res.writeHead(code, { 'content-type': type, ...SECURITY_HEADERS, ...extraHeaders });
        res.end(body);
      };
      try {
        const rawUrl = req.url ?? '/';
        if (rawUrl.length > HTTP_LIMITS.maxUrlChars)
          throw new CollectorError('TOO_LARGE', 'the URL is too long');
        const name = hostName(req);
        if (name === null || !allowedHosts.has(name))
          bad('requests must be addressed to an allowed host name');
        const url = new URL(rawUrl, 'http://collector.invalid');
        const method = req.method ?? 'GET';
        if (url.pathname.startsWith('/api/')) {
          if (method === 'POST' && !sameOrigin(req)) bad('cross-origin requests are refused');
          const body = await handleApi(collector, method, url, req);
          send(200, JSON.stringify(body), 'application/json; charset=utf-8', { 'cache-control': 'no-store' });
          return;
        }
        const file = files.get(url.pathname);
        if (file === undefined || (method !== 'GET' && method !== 'HEAD')) {
          throw new CollectorError('NOT_FOUND', 'no such file');
        }
        send(200, await fs.promises.readFile(file[0]), file[1], { 'cache-control': 'no-cache' });
      } catch (error) {
        const code: CollectorErrorCode = error instanceof CollectorError ? error.code : 'STORE_FAILED';
        const message = error instanceof CollectorError ? error.message : 'internal error';
        if (!res.headersSent) {
          send(status(code), JSON.stringify({ error: { code, message } }), 'application/json; charset=utf-8');
        } else res.end();
      }
    })();
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
