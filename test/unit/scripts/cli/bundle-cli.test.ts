// The field-engineer CLI, in-process through main([...]), with temp dirs.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../../scripts/cli/main.ts';
import { makeDemoBundles } from '../../../../scripts/demo-keys/demo-bundles.ts';
import { sampleSpec, tempDir } from '../../../fixtures/bundles/kit.ts';

let out: string[] = [];
let err: string[] = [];

beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  out = [];
  err = [];
  const code = await main(args);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const ROLES = [
  'root:root-a',
  'root:root-b',
  'build:build-ci',
  'qa:qa-alice',
  'clinical:clin-carol',
  'regulatory:reg-dave',
  'release:rel-erin',
];

async function setup(): Promise<{ dir: string; keys: string; trust: string }> {
  const dir = tempDir('vigil-cli-');
  const keys = path.join(dir, 'keys');
  for (const entry of ROLES) {
    const [role, kid] = entry.split(':') as [string, string];
    expect((await run('keygen', '--role', role, '--id', kid, '--out', keys)).code).toBe(0);
  }
  const trust = path.join(dir, 'trust.cbor');
  const pubs = ROLES.flatMap((e) => ['--key', path.join(keys, `${e.split(':')[1] ?? ''}.pub`)]);
  const init = await run(
    'trust',
    'init',
    ...pubs,
    '--sign',
    path.join(keys, 'root-a.key'),
    '--out',
    trust,
    '--issued-at',
    '2026-01-01T00:00:00Z',
  );
  expect(init.code, init.stderr).toBe(0);
  return { dir, keys, trust };
}

async function build(
  dir: string,
  keys: string,
  name: string,
  spec: Record<string, unknown> = sampleSpec(),
): Promise<string> {
  const specFile = path.join(dir, `${name}.json`);
  fs.writeFileSync(specFile, JSON.stringify(spec));
  fs.writeFileSync(
    path.join(dir, 'model.onnx'),
    Uint8Array.from({ length: 2048 }, (_, i) => (i * 7) & 0xff),
  );
  fs.writeFileSync(path.join(dir, 'profile.json'), '{}');
  fs.writeFileSync(path.join(dir, 'evidence.json'), '{}');
  const bundle = path.join(dir, `${name}.vbundle`);
  const r = await run(
    'bundle',
    'build',
    '--spec',
    specFile,
    '--model',
    path.join(dir, 'model.onnx'),
    '--profile',
    path.join(dir, 'profile.json'),
    '--evidence',
    path.join(dir, 'evidence.json'),
    '--out',
    bundle,
    '--key',
    path.join(keys, 'build-ci.key'),
    '--builder',
    'CI <ci@acme.example>',
    '--created-at',
    '2026-01-10T00:00:00Z',
  );
  expect(r.code, r.stderr).toBe(0);
  return bundle;
}

async function approveAll(bundle: string, keys: string, scope = 'full'): Promise<void> {
  for (const [role, kid] of [
    ['qa', 'qa-alice'],
    ['clinical', 'clin-carol'],
    ['regulatory', 'reg-dave'],
  ] as const) {
    const r = await run(
      'bundle',
      'approve',
      bundle,
      '--key',
      path.join(keys, `${kid}.key`),
      '--role',
      role,
      '--reviewer',
      `${kid} <${kid}@acme.example>`,
      '--scope',
      scope,
      '--at',
      '2026-01-11T00:00:00Z',
    );
    expect(r.code, r.stderr).toBe(0);
  }
}

const AT = ['--at', '2026-01-15T00:00:00Z'];

describe('vigil keygen', () => {
  it('writes a 0600 secret key and refuses bad roles and overwrites', async () => {
    const dir = tempDir('vigil-cli-');
    const r = await run('keygen', '--role', 'qa', '--id', 'qa-x', '--out', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('qa key qa-x');
    expect(fs.statSync(path.join(dir, 'qa-x.key')).mode & 0o777).toBe(0o600);
    expect((await run('keygen', '--role', 'admin', '--id', 'x', '--out', dir)).stderr).toMatch(
      /^vigil: BAD_ARGUMENT:/,
    );
    const again = await run('keygen', '--role', 'qa', '--id', 'qa-x', '--out', dir);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/^vigil: KEY_EXISTS:/);
  });
});

describe('vigil trust', () => {
  it('shows a document, as text and JSON', async () => {
    const { trust } = await setup();
    const text = await run('trust', 'show', '--trust', trust);
    expect(text.stdout).toContain('Trust document version 1');
    expect(text.stdout).toContain('release policy: approvals by qa, clinical, regulatory');
    const json = JSON.parse((await run('trust', 'show', '--trust', trust, '--json')).stdout) as {
      version: number;
      signers: string[];
    };
    expect(json.version).toBe(1);
    expect(json.signers).toEqual(['root-a']);
  });

  it('rotates N → N+1 only with both root thresholds, and writes nothing otherwise', async () => {
    const { dir, keys, trust } = await setup();
    const v2 = path.join(dir, 'trust-2.cbor');
    // Version 2 needs two root signatures: root-a alone satisfies version 1 but not version 2.
    const short = await run(
      'trust',
      'rotate',
      '--trust',
      trust,
      '--root-threshold',
      '2',
      '--sign',
      path.join(keys, 'root-a.key'),
      '--out',
      v2,
    );
    expect(short.code).not.toBe(0);
    expect(short.stderr).toMatch(/^vigil: ROTATION_NEW_THRESHOLD:/);
    expect(fs.existsSync(v2)).toBe(false);
    // A new root key alone cannot replace the old roots: version 1's threshold must sign too.
    expect((await run('keygen', '--role', 'root', '--id', 'root-c', '--out', keys)).code).toBe(0);
    const noOld = await run(
      'trust',
      'rotate',
      '--trust',
      trust,
      '--add-key',
      path.join(keys, 'root-c.pub'),
      '--remove-key',
      'root-a',
      '--remove-key',
      'root-b',
      '--sign',
      path.join(keys, 'root-c.key'),
      '--out',
      v2,
    );
    expect(noOld.stderr).toMatch(/^vigil: ROTATION_OLD_THRESHOLD:/);
    const ok = await run(
      'trust',
      'rotate',
      '--trust',
      trust,
      '--root-threshold',
      '2',
      '--sign',
      path.join(keys, 'root-a.key'),
      '--sign',
      path.join(keys, 'root-b.key'),
      '--out',
      v2,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('version 1 → 2');
  });

  it('revokes a key; bundles it approved are then refused', async () => {
    const { dir, keys, trust } = await setup();
    const bundle = await build(dir, keys, 'b1');
    await approveAll(bundle, keys);
    expect((await run('bundle', 'verify', bundle, '--trust', trust, ...AT)).code).toBe(0);
    const v2 = path.join(dir, 'trust-2.cbor');
    const r = await run(
      'trust',
      'revoke',
      '--trust',
      trust,
      '--key-id',
      'clin-carol',
      '--reason',
      'laptop lost',
      '--sign',
      path.join(keys, 'root-a.key'),
      '--out',
      v2,
    );
    expect(r.code, r.stderr).toBe(0);
    const refused = await run('bundle', 'verify', bundle, '--trust', v2, ...AT);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^vigil: REVOKED_KEY:/);
    expect((await run('trust', 'show', '--trust', v2)).stdout).toMatch(
      /WARNING: no bundle can be approved until keys are added for clinical/,
    );
  });
});

describe('vigil bundle', () => {
  it('build → verify (refused until approved) → approve ×3 → verify → inspect', async () => {
    const { dir, keys, trust } = await setup();
    const bundle = await build(dir, keys, 'b1');
    const early = await run('bundle', 'verify', bundle, '--trust', trust, ...AT);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/^vigil: POLICY_UNSATISFIED:/);
    await approveAll(bundle, keys);
    const ok = await run(
      'bundle',
      'verify',
      bundle,
      '--trust',
      trust,
      '--device-class',
      'acme-medical/wrist-gw-2',
      '--runtime-version',
      '0.1.0',
      ...AT,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK fall-detector@1\.2\.0/);
    const wrongClass = await run(
      'bundle',
      'verify',
      bundle,
      '--trust',
      trust,
      '--device-class',
      'acme-medical/other',
      ...AT,
    );
    expect(wrongClass.stderr).toMatch(/^vigil: WRONG_DEVICE_CLASS:/);
    const json = JSON.parse(
      (await run('bundle', 'verify', bundle, '--trust', trust, '--json', ...AT)).stdout,
    ) as { ok: boolean; approvals: unknown[] };
    expect(json.ok).toBe(true);
    expect(json.approvals).toHaveLength(4);

    const page = (await run('bundle', 'inspect', bundle, '--trust', trust, ...AT)).stdout;
    for (const heading of [
      'Intended use',
      'How it behaves',
      'Evidence — all acceptance criteria passed',
      'Approvals',
      'Hashes (SHA-256)',
    ]) {
      expect(page).toContain(heading);
    }
    expect(page).toContain('Status: VERIFIED against trust version 1 for full deployment');
    expect(page).toMatch(/qa\s+qa-alice <qa-alice@acme\.example>\s+2026-01-11T00:00Z\s+scope full/);
    expect(page.split('\n').length).toBeLessThan(70);
  });

  it('inspect --diff says what changed, in plain words; --json carries the same', async () => {
    const { dir, keys } = await setup();
    const old = await build(dir, keys, 'old');
    const spec = sampleSpec({
      bundleId: 'fall-detector@1.3.0',
      version: '1.3.0',
      sequence: 13,
      thresholds: { version: '4', operatingThreshold: 0.75, releaseThreshold: 0.5, indeterminateLow: 0.55 },
    });
    fs.writeFileSync(path.join(dir, 'model.onnx'), 'different model');
    const next = await build(dir, keys, 'new', spec);
    const page = (await run('bundle', 'inspect', next, '--diff', old)).stdout;
    expect(page).toContain('What changed since fall-detector@1.2.0 (sequence 12)');
    expect(page).toContain('thresholds.operatingThreshold: 0.7 → 0.75');
    expect(page).toContain('Status: NOT VERIFIED here');
    const json = JSON.parse((await run('bundle', 'inspect', next, '--diff', old, '--json')).stdout) as {
      changes: { items: { area: string; field: string }[] };
    };
    const areas = json.changes.items.map((c) => `${c.area}:${c.field}`);
    expect(areas).toContain('clinical behaviour:thresholds.operatingThreshold');
    expect(areas).toContain('release:sequence');
  });

  it('refuses an approval with a key of another role, and a group-readable key', async () => {
    const { dir, keys } = await setup();
    const bundle = await build(dir, keys, 'b1');
    const wrong = await run(
      'bundle',
      'approve',
      bundle,
      '--key',
      path.join(keys, 'qa-alice.key'),
      '--role',
      'clinical',
      '--reviewer',
      'A <a@b.c>',
      '--scope',
      'full',
    );
    expect(wrong.stderr).toMatch(/^vigil: ROLE_MISMATCH:/);
    fs.chmodSync(path.join(keys, 'qa-alice.key'), 0o644);
    const open = await run(
      'bundle',
      'approve',
      bundle,
      '--key',
      path.join(keys, 'qa-alice.key'),
      '--role',
      'qa',
      '--reviewer',
      'A <a@b.c>',
      '--scope',
      'full',
    );
    expect(open.stderr).toMatch(/^vigil: KEY_PERMISSIONS:/);
    const trustFile = path.join(path.dirname(keys), 'trust.cbor');
    const badScope = await run(
      'bundle',
      'approve',
      bundle,
      '--key',
      path.join(keys, 'clin-carol.key'),
      '--role',
      'clinical',
      '--reviewer',
      'C <c@d.e>',
      '--scope',
      'everywhere',
      '--trust',
      trustFile,
    );
    expect(badScope.stderr).toMatch(/^vigil: BAD_ARGUMENT: --scope everywhere/);
    const badReviewer = await run(
      'bundle',
      'approve',
      bundle,
      '--key',
      path.join(keys, 'clin-carol.key'),
      '--role',
      'clinical',
      '--reviewer',
      'just a name',
      '--scope',
      'full',
    );
    expect(badReviewer.stderr).toMatch(/^vigil: BAD_ARGUMENT:/);
  });

  it('build refuses a spec whose files are not all given, and a non-build key', async () => {
    const { dir, keys } = await setup();
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(sampleSpec()));
    fs.writeFileSync(path.join(dir, 'model.onnx'), 'm');
    const noProfile = await run(
      'bundle',
      'build',
      '--spec',
      path.join(dir, 'spec.json'),
      '--model',
      path.join(dir, 'model.onnx'),
      '--out',
      path.join(dir, 'x.vbundle'),
    );
    expect(noProfile.stderr).toMatch(
      /^vigil: BAD_ARGUMENT: the spec names profile.json; give it with --profile/,
    );
    fs.writeFileSync(path.join(dir, 'p.json'), '{}');
    const qaKey = await run(
      'bundle',
      'build',
      '--spec',
      path.join(dir, 'spec.json'),
      '--model',
      path.join(dir, 'model.onnx'),
      '--profile',
      path.join(dir, 'p.json'),
      '--evidence',
      path.join(dir, 'p.json'),
      '--out',
      path.join(dir, 'x.vbundle'),
      '--key',
      path.join(keys, 'qa-alice.key'),
    );
    expect(qaKey.stderr).toMatch(/^vigil: ROLE_MISMATCH:/);
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(sampleSpec({ colour: 'blue' })));
    const badSpec = await run(
      'bundle',
      'build',
      '--spec',
      path.join(dir, 'bad.json'),
      '--model',
      path.join(dir, 'model.onnx'),
      '--profile',
      path.join(dir, 'p.json'),
      '--evidence',
      path.join(dir, 'p.json'),
      '--out',
      path.join(dir, 'x.vbundle'),
    );
    expect(badSpec.stderr).toMatch(/^vigil: BAD_MANIFEST: manifest\.colour/);
    expect(fs.existsSync(path.join(dir, 'x.vbundle'))).toBe(false);
  });
});

describe('demo bundles', () => {
  it('makes clearly labelled demo keys, a trust document and approved bundles that verify; keys are reused', async () => {
    const dir = tempDir('vigil-demo-');
    fs.writeFileSync(path.join(dir, 'bundle.json'), JSON.stringify(sampleSpec()));
    fs.writeFileSync(path.join(dir, 'model.onnx'), 'model bytes');
    fs.writeFileSync(path.join(dir, 'profile.json'), '{}');
    fs.writeFileSync(path.join(dir, 'evidence.json'), '{}');
    const model = {
      spec: path.join(dir, 'bundle.json'),
      model: path.join(dir, 'model.onnx'),
      profile: path.join(dir, 'profile.json'),
      evidence: path.join(dir, 'evidence.json'),
    };
    let counter = 0;
    const random = (n: number): Uint8Array => new Uint8Array(n).fill(++counter);
    const outDir = path.join(dir, 'demo');
    const first = await makeDemoBundles({
      outDir,
      models: [model],
      nowMs: Date.parse('2026-01-10T00:00:00Z'),
      random,
    });
    expect(fs.readFileSync(path.join(first.keysDir, 'README.md'), 'utf8')).toMatch(
      /DEMO KEYS — NOT FOR CLINICAL USE/,
    );
    expect(
      fs
        .readdirSync(first.keysDir)
        .filter((f) => f.endsWith('.key'))
        .every((f) => f.startsWith('demo-')),
    ).toBe(true);
    const verified = await run(
      'bundle',
      'verify',
      first.bundles[0]?.path ?? '',
      '--trust',
      first.trustPath,
      ...AT,
    );
    expect(verified.code, verified.stderr).toBe(0);
    const shown = JSON.parse((await run('trust', 'show', '--trust', first.trustPath, '--json')).stdout) as {
      keys: { holder: string }[];
    };
    expect(shown.keys.every((k) => k.holder.startsWith('DEMO KEY'))).toBe(true);
    const rootPub = fs.readFileSync(path.join(first.keysDir, 'demo-root.pub'), 'utf8');
    await makeDemoBundles({ outDir, models: [model], nowMs: Date.parse('2026-01-10T00:00:00Z'), random });
    expect(fs.readFileSync(path.join(first.keysDir, 'demo-root.pub'), 'utf8')).toBe(rootPub);
  });
});
