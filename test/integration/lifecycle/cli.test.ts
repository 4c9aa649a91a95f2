// The lifecycle CLI end to end: install, status, command sign|apply (and a replay of the same file),
// rollback with and without confirmation, audit verify|export|checkpoint, and truncation of the log
// detected through a checkpoint held elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeKeyFiles } from '../../../models/format/index.ts';
import type { LifecycleStatus } from '../../../runtime/lifecycle/index.ts';
import { main } from '../../../scripts/cli/main.ts';
import { DEVICE_CLASS, KEYS, tempDir } from '../../fixtures/bundles/kit.ts';
import { TRUST, bundle } from '../../unit/runtime/lifecycle/helpers.ts';

const work = tempDir('vigil-cli-lifecycle-');
const dataDir = path.join(work, 'device');
const configFile = path.join(work, 'config.json');
const trustFile = path.join(work, 'trust.cbor');
let b1: string;
let b2: string;
let releaseKey: string;

beforeAll(async () => {
  b1 = await bundle(1, { dir: work, rollout: { probation: { windows: 0 } } }); // no runtime here: no probation
  b2 = await bundle(2, { dir: work });
  fs.writeFileSync(trustFile, TRUST.bytes);
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      deviceId: 'gw-cli-1',
      fleet: 'ward-9',
      vendorId: DEVICE_CLASS.vendorId,
      classId: DEVICE_CLASS.classId,
      dataDir,
    }),
  );
  releaseKey = (await writeKeyFiles(path.join(work, 'keys'), KEYS.release)).secret;
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

async function status(): Promise<LifecycleStatus> {
  const { code, out } = await run('status', '--config', configFile, '--json');
  expect(code).toBe(0);
  return JSON.parse(out) as LifecycleStatus;
}

describe('vigil lifecycle CLI', () => {
  let candidate = '';

  it('installs bundles and shows status', async () => {
    const first = await run('install', b1, '--config', configFile, '--trust', trustFile);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/ACTIVE/);
    const second = await run('install', b2, '--config', configFile);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/SHADOW/);
    const again = await run('install', b1, '--config', configFile);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/already installed/);
    const s = await status();
    expect(s.deviceId).toBe('gw-cli-1');
    expect(s.families[0]?.active?.bundle.bundleId).toBe('fall-detector@1.1.0');
    candidate = s.families[0]?.candidate?.bundle.manifestSha256 ?? '';
    expect(candidate).toMatch(/^[0-9a-f]{64}$/);
    const text = await run('status', '--data-dir', dataDir, '--trust', trustFile);
    expect(text.out).toMatch(/candidate +fall-detector@1\.2\.0/);
    expect(text.out).toMatch(/trust file .*version 1, the one the device holds/);
    expect(text.out).toMatch(/promotion: waiting/);
  });

  it('signs a promote command and applies it once; the replay and a wrong device are refused', async () => {
    const cmd = path.join(work, 'promote.cbor');
    const signed = await run(
      'command',
      'sign',
      '--key',
      releaseKey,
      '--kind',
      'promote',
      '--fleet',
      'ward-9',
      '--device',
      'gw-cli-1',
      '--family',
      'fall-detector',
      '--bundle',
      candidate,
      '--force',
      '--reason',
      'field trial',
      '--issuer',
      'Erin Release <erin@acme.example>',
      '--out',
      cmd,
    );
    expect(signed.code).toBe(0);
    expect(signed.out).toMatch(/promote fall-detector candidate .* \(forced\) on devices gw-cli-1/);
    const applied = await run('command', 'apply', cmd, '--config', configFile);
    expect(applied.code).toBe(0);
    expect(applied.out).toMatch(/accepted \(release-erin\)/);
    const replayed = await run('command', 'apply', cmd, '--config', configFile);
    expect(replayed.code).toBe(1);
    expect(replayed.err).toMatch(/REPLAYED/);
    const other = path.join(work, 'other.cbor');
    await run(
      'command',
      'sign',
      '--key',
      releaseKey,
      '--kind',
      'freeze',
      '--fleet',
      'ward-9',
      '--device',
      'gw-cli-2',
      '--reason',
      'x',
      '--issuer',
      'Erin Release <erin@acme.example>',
      '--out',
      other,
    );
    expect((await run('command', 'apply', other, '--config', configFile)).err).toMatch(/OTHER_DEVICE/);
    const s = await status();
    expect(s.families[0]?.active?.bundle.manifestSha256).toBe(candidate);
  });

  it('refuses to sign with a key that is not a release key', async () => {
    const qa = (await writeKeyFiles(path.join(work, 'qa-keys'), KEYS.qa)).secret;
    const result = await run(
      'command',
      'sign',
      '--key',
      qa,
      '--kind',
      'freeze',
      '--fleet',
      'ward-9',
      '--reason',
      'x',
      '--issuer',
      'Q A <qa@acme.example>',
      '--out',
      path.join(work, 'qa.cbor'),
    );
    expect(result.code).not.toBe(0);
    expect(result.err).toMatch(/release keys/);
  });

  it('rolls back only with --yes', async () => {
    const refused = await run(
      'rollback',
      '--family',
      'fall-detector',
      '--reason',
      'complaints',
      '--config',
      configFile,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/CONFIRMATION_REQUIRED/);
    const done = await run(
      'rollback',
      '--family',
      'fall-detector',
      '--reason',
      'complaints',
      '--yes',
      '--config',
      configFile,
    );
    expect(done.code).toBe(0);
    expect(done.out).toMatch(/rolled back from fall-detector@1\.2\.0 to fall-detector@1\.1\.0/);
  });

  it('verifies and exports the audit trail, and detects tampering and truncation', async () => {
    const verified = await run('audit', 'verify', '--config', configFile);
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(/intact: \d+ records/);
    const out = path.join(work, 'export');
    expect((await run('audit', 'export', '--config', configFile, '--out', out)).code).toBe(0);
    const text = fs.readFileSync(path.join(out, 'audit.txt'), 'utf8');
    expect(text).toMatch(/bundle-rolled-back by local:/);
    expect(text).toMatch(/command-rejected by release:release-erin .*code=REPLAYED/);
    const jsonl = path.join(out, 'audit.jsonl');
    expect((await run('audit', 'verify', '--export', jsonl)).code).toBe(0);
    const lines = fs.readFileSync(jsonl, 'utf8').trim().split('\n');
    const third = JSON.parse(lines[2] ?? '{}') as { payloadCbor: string };
    third.payloadCbor = `${third.payloadCbor.slice(0, -2)}00`;
    lines[2] = JSON.stringify(third);
    fs.writeFileSync(jsonl, `${lines.join('\n')}\n`);
    const tampered = await run('audit', 'verify', '--export', jsonl);
    expect(tampered.code).toBe(1);
    expect(tampered.out).toMatch(/record 3 was modified/);

    const held = path.join(work, 'checkpoint.cbor');
    expect((await run('audit', 'checkpoint', '--config', configFile, '--out', held)).code).toBe(0);
    expect((await run('audit', 'verify', '--config', configFile, '--checkpoint', held)).code).toBe(0);
    // Someone deletes the tail of the log and the device's own checkpoints: the held one still tells.
    const db = new Database(path.join(dataDir, 'state.db'));
    const count = (db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
    db.prepare('DELETE FROM audit WHERE seq > ?').run(count - 5);
    db.prepare('DELETE FROM audit_checkpoint').run();
    db.close();
    const truncated = await run('audit', 'verify', '--config', configFile, '--checkpoint', held);
    expect(truncated.code).toBe(1);
    expect(truncated.out).toMatch(/checkpoint at record \d+: the log holds only/);
  });

  it('lists pinned black-box events', async () => {
    const listed = await run('replay', '--list', '--config', configFile);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/no pinned events/);
  });
});
