// The collector CLI in-process (scripts/cli main): `vigil collector profile add` verifying a real signed
// demo bundle against its trust document, `vigil device enroll|list|retire` with a record signed by the
// demo field key and verified against the trust document, and `vigil report --json`/HTML on the result.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateKey, readSecretKeyFile, signerFor, writeKeyFiles } from '../../../models/format/index.ts';
import { Collector, SqliteCollectorStore } from '../../../monitor/collector/index.ts';
import { signDeviceEnrolment } from '../../../runtime/trust/index.ts';
import { main } from '../../../scripts/cli/main.ts';
import { makeDemoBundles, referenceModel as demoModel } from '../../../scripts/demo-keys/demo-bundles.ts';
import {
  REPO,
  Rng,
  deviceWithKey,
  referenceModel,
  signedReport,
  simulateReport,
  topic,
  withManifest,
} from './fleet-sim.ts';

const NOW = Date.parse('2026-01-10T00:00:00Z');
const H = 3_600_000;
let dir: string;
let db: string;
let trust: string;
let bundle: string;
let manifestSha256: string;
let keysDir: string;

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  const e = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-collector-cli-'));
  db = path.join(dir, 'collector.db');
  let counter = 0;
  const demo = await makeDemoBundles({
    outDir: path.join(dir, 'demo'),
    models: [demoModel(path.join(REPO, 'models/reference/fall-detector'))],
    nowMs: NOW,
    random: (n) => new Uint8Array(n).fill(++counter),
  });
  trust = demo.trustPath;
  keysDir = demo.keysDir;
  bundle = demo.bundles[0]?.path ?? '';
  manifestSha256 = demo.bundles[0]?.manifestSha256 ?? '';
}, 60_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('vigil collector / device / report', () => {
  it('registers a model version only from a bundle that verifies against the trust document', async () => {
    const ok = await run(
      'collector',
      'profile',
      'add',
      bundle,
      '--db',
      db,
      '--trust',
      trust,
      '--at',
      '2026-01-11T00:00:00Z',
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`manifest ${manifestSha256}`);
    expect(ok.stdout).toContain('qa Demo qa reviewer');
    const tampered = path.join(dir, 'tampered.vbundle');
    const bytes = fs.readFileSync(bundle);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 1;
    fs.writeFileSync(tampered, bytes);
    const bad = await run(
      'collector',
      'profile',
      'add',
      tampered,
      '--db',
      db,
      '--trust',
      trust,
      '--at',
      '2026-01-11T00:00:00Z',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/DIGEST_MISMATCH|SIZE_MISMATCH|BAD_/);
    const list = await run('collector', 'profile', 'list', '--db', db, '--json');
    const models = JSON.parse(list.stdout) as {
      manifestSha256: string;
      hasProfile: boolean;
      source: string;
    }[];
    expect(models).toEqual([expect.objectContaining({ manifestSha256, hasProfile: true, source: 'bundle' })]);
  });

  it('enrols a device key signed by a field key, refuses other signers, lists and retires', async () => {
    const device = generateKey('dev-bed-1', 'device');
    await writeKeyFiles(path.join(dir, 'keys'), device);
    const enrolled = await run(
      'device',
      'enroll',
      '--db',
      db,
      '--trust',
      trust,
      '--fleet',
      'ward-3',
      '--device',
      'bed-1',
      '--device-key',
      path.join(dir, 'keys', 'dev-bed-1.pub'),
      '--sign',
      path.join(keysDir, 'demo-field.key'),
      '--site',
      'ward-a',
      '--out',
      path.join(dir, 'bed-1.enrolment'),
    );
    expect(enrolled.code).toBe(0);
    expect(enrolled.stdout).toContain('signed by field key demo-field');
    // A record signed by a QA key is not an enrolment.
    const qa = await readSecretKeyFile(path.join(keysDir, 'demo-qa.key'));
    const other = generateKey('dev-bed-2', 'device');
    const record = signDeviceEnrolment(
      {
        formatVersion: 1,
        deviceId: 'bed-2',
        kid: other.kid,
        publicKey: other.publicKey,
        deviceClass: { vendorId: 'v', classId: 'c' },
        enrolledAtMs: NOW,
      },
      signerFor(qa),
    );
    fs.writeFileSync(path.join(dir, 'bed-2.enrolment'), record);
    const refused = await run(
      'device',
      'enroll',
      '--db',
      db,
      '--trust',
      trust,
      '--fleet',
      'ward-3',
      '--record',
      path.join(dir, 'bed-2.enrolment'),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ROLE_MISMATCH');

    // Feed the collector reports signed with the enrolled key, under the bundle's real identity.
    const c = new Collector({
      store: new SqliteCollectorStore(db),
      fleet: 'ward-3',
      options: { verifyThreads: 0 },
    });
    const model = withManifest(referenceModel('fall-detector'), manifestSha256);
    const sim = deviceWithKey('ward-3', 'bed-1', device, { cohort: 'night' });
    const rng = new Rng(3);
    for (let h = 0; h < 4; h++) {
      const r = simulateReport(sim, model, {
        startMs: NOW + h * H,
        intervalMs: H,
        windows: 3600,
        rng,
        labelShare: 0.05,
      });
      c.accept(topic(sim, 'report'), signedReport(sim, r));
    }
    await c.ingest.drain();
    expect(c.overview().ingest.accepted.report).toBe(4);
    await c.close();

    const list = await run('device', 'list', '--db', db, '--json');
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        device: 'bed-1',
        kid: 'dev-bed-1',
        site: 'ward-a',
        enrolledBy: 'demo-field',
        retiredAtMs: null,
      }),
    ]);
    const retired = await run(
      'device',
      'retire',
      'bed-1',
      '--db',
      db,
      '--fleet',
      'ward-3',
      '--by',
      'Bo QA',
      '--reason',
      'returned',
    );
    expect(retired.code).toBe(0);
    expect(
      (
        await run(
          'device',
          'retire',
          'bed-1',
          '--db',
          db,
          '--fleet',
          'ward-3',
          '--by',
          'Bo QA',
          '--reason',
          'again',
        )
      ).code,
    ).toBe(2);
    expect((await run('device', 'list', '--db', db)).stdout).toContain('retired by Bo QA: returned');
  });

  it('writes the surveillance report as JSON and self-contained HTML', async () => {
    const out = path.join(dir, 'report.html');
    const r = await run(
      'report',
      '--db',
      db,
      '--model',
      'fall-detector',
      '--from',
      '2026-01-09T00:00:00Z',
      '--to',
      '2026-01-11T00:00:00Z',
      '--out',
      out,
      '--json',
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      kind: string;
      versions: {
        model: { manifestSha256: string };
        roles: { usage: { devices: number; hours: number } }[];
        summary: string[];
      }[];
    };
    expect(report.kind).toBe('vigil-surveillance-report');
    expect(report.versions[0]?.model.manifestSha256).toBe(manifestSha256);
    expect(report.versions[0]?.roles[0]?.usage).toMatchObject({ devices: 1, hours: 4 });
    expect(report.versions[0]?.summary.join(' ')).toContain('No drift alert');
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('Post-market surveillance report: fall-detector');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(
      (
        await run(
          'report',
          '--db',
          db,
          '--model',
          'af-screener',
          '--from',
          '2026-01-09',
          '--to',
          '2026-01-11',
          '--json',
        )
      ).code,
    ).toBe(2);
    expect(
      (
        await run(
          'report',
          '--db',
          db,
          '--model',
          'fall-detector',
          '--from',
          'soon',
          '--to',
          '2026-01-11',
          '--json',
        )
      ).code,
    ).toBe(2);
  });
});
