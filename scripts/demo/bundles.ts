// The demo's releases: the demo keys and trust document (scripts/demo-keys: created on first run,
// reused, labelled DEMO), and demo variants of the reference models built and approved with them.
//
// A demo variant is the reference model's own ONNX file, thresholds and policies with:
// - a `-demo` version (`fall-detector@1.0.0-demo`) and release notes that say DEMO VARIANT;
// - `monitoring.reportIntervalS` of the scenario (seconds, not an hour: the demo compresses time);
// - the demo fleet's reference profile (scripts/demo/profiles, built by profile-build.ts from the
//   population the demo streams: docs/demo.md "Profiles");
// - short probation and shadow minimums so that a rollout completes within a few minutes.
// Candidates (the scenario's `candidates`) are the baseline of their family with a new version,
// sequence and rollout policy, approved by the roles the scenario names.
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  approveBundle,
  buildBundle,
  keyFilePaths,
  readSecretKeyFile,
  signerFor,
  type KeyRole,
  type Manifest,
  type SecretKey,
} from '../../models/format/index.ts';
import { TrustStore } from '../../runtime/trust/index.ts';
import { validatePreprocessingWithOps, verifyBundleFile } from '../../runtime/verify/index.ts';
import type { CandidateSpec, Family } from '../../simulator/fleet/index.ts';
import { DEMO_KID_PREFIX, makeDemoBundles } from '../demo-keys/demo-bundles.ts';
import { profilePath } from './profile-build.ts';
import { referenceDir } from './population.ts';

/**
 * Probation latency bound of the demo variants. The reference policies ask 50–100 ms of a real
 * gateway; the demo's gateways are tens of daemons sharing two cores with the broker, the collector
 * and (in CI) other test suites, and a single slow window out of the first 20 breaches a p99 bound.
 */
export const DEMO_LATENCY_P99_MS = 5000;

export const DEMO_LABEL =
  'DEMO VARIANT (demo keys, demo fleet profile, compressed report interval) — not for clinical use.';

export interface DemoBundle {
  /** The scenario's name for it: the family for a baseline, the candidate's name otherwise. */
  readonly name: string;
  readonly family: Family;
  readonly bundleId: string;
  readonly version: string;
  readonly sequence: number;
  readonly path: string;
  readonly manifest: Manifest;
  readonly manifestSha256: string;
  readonly profileBytes: Uint8Array;
  readonly approvals: readonly string[];
}

export interface DemoKit {
  readonly dir: string;
  readonly keysDir: string;
  readonly trustPath: string;
  readonly trust: Uint8Array;
  readonly trustStore: TrustStore;
  key(role: KeyRole): SecretKey;
  readonly bundles: ReadonlyMap<string, DemoBundle>;
  readonly baseline: readonly DemoBundle[];
}

export interface DemoKitOptions {
  /** Demo keys and trust live here (kept between runs). */
  readonly dir: string;
  /** Where this run's bundles go. */
  readonly bundleDir: string;
  readonly reportIntervalS: number;
  readonly candidates: readonly CandidateSpec[];
  readonly nowMs: number;
  /** Reuse the bundles already in `bundleDir` when they were built for the same settings. */
  readonly reuse?: boolean;
}

const INDEX_FILE = 'index.json';

type Spec = Record<string, unknown> & {
  bundleId: string;
  version: string;
  sequence: number;
  precursorSequence: number | null;
  releaseNotes: string;
  monitoring: Record<string, unknown>;
  rollout: Record<string, unknown> & { probation: Record<string, unknown> };
};

/** The demo variant of a reference model's bundle.json. */
async function referenceSpec(family: Family): Promise<Spec> {
  return JSON.parse(await fs.readFile(path.join(referenceDir(family), 'bundle.json'), 'utf8')) as Spec;
}

function baselineSpec(spec: Spec, family: Family, reportIntervalS: number): Spec {
  const version = '1.0.0-demo';
  return {
    ...spec,
    bundleId: `${family}@${version}`,
    version,
    sequence: 1,
    precursorSequence: null,
    monitoring: { ...spec.monitoring, reportIntervalS },
    rollout: {
      ...spec.rollout,
      shadowMinWindows: 30,
      autoPromote: false,
      // The baseline stands for a release that has been in the field for months and passed its
      // probation long ago: here it is over with its first result, before anything happens to the
      // fleet, and judges no fallback rate (a rate over one window would say more about chance
      // than about the release). Candidates keep the reference's ceilings.
      // The demo's gateways share two cores with the broker, the collector and each other: the
      // latency bound is relaxed so that probation judges the model, not the laptop.
      probation: {
        ...spec.rollout.probation,
        windows: 1,
        maxFallbackRate: 1,
        maxLatencyP99Ms: DEMO_LATENCY_P99_MS,
      },
    },
    releaseNotes: `${DEMO_LABEL} ${spec.releaseNotes}`,
  };
}

function candidateSpec(base: Spec, reference: Spec, c: CandidateSpec, sequence: number): Spec {
  return {
    ...base,
    bundleId: `${c.family}@${c.version}`,
    version: c.version,
    sequence,
    precursorSequence: null,
    rollout: {
      ...base.rollout,
      shadowMinWindows: c.shadowMinWindows,
      autoPromote: c.autoPromote,
      probation: {
        ...base.rollout.probation,
        maxFallbackRate: reference.rollout.probation.maxFallbackRate,
        windows: c.probationWindows,
        ...(c.maxLatencyP99Ms === null ? {} : { maxLatencyP99Ms: c.maxLatencyP99Ms }),
      },
    },
    releaseNotes: `${DEMO_LABEL} ${c.releaseNotes}`,
  };
}

async function build(
  kit: { bundleDir: string; key: (role: KeyRole) => SecretKey },
  name: string,
  family: Family,
  spec: Spec,
  approvals: readonly ('qa' | 'clinical' | 'regulatory')[],
  nowMs: number,
): Promise<DemoBundle> {
  const dir = referenceDir(family);
  const out = path.join(kit.bundleDir, `${spec.bundleId.replace('@', '-')}.vbundle`);
  await fs.mkdir(path.dirname(out), { recursive: true });
  await fs.rm(out, { force: true });
  const built = await buildBundle({
    spec,
    files: [
      { path: 'model.onnx', file: path.join(dir, 'model.onnx') },
      { path: 'profile.json', file: profilePath(family) },
      { path: 'evidence.json', file: path.join(dir, 'evidence.json') },
    ],
    createdAtMs: nowMs,
    out,
    build: { signer: signerFor(kit.key('build')), reviewer: 'Demo build <demo-build@vigil.invalid>' },
    validatePreprocessing: validatePreprocessingWithOps,
  });
  for (const role of approvals) {
    await approveBundle({
      bundle: out,
      signer: signerFor(kit.key(role)),
      role,
      reviewer: `Demo ${role} reviewer <demo-${role}@vigil.invalid>`,
      scope: 'full',
      timeMs: nowMs,
    });
  }
  return {
    name,
    family,
    bundleId: built.manifest.bundleId,
    version: built.manifest.version,
    sequence: built.manifest.sequence,
    path: out,
    manifest: built.manifest,
    manifestSha256: built.manifestSha256,
    profileBytes: new Uint8Array(await fs.readFile(profilePath(family))),
    approvals: [...approvals],
  };
}

/** Demo keys and trust (first run creates them), then the run's demo bundles. */
export async function prepareDemoKit(options: DemoKitOptions): Promise<DemoKit> {
  const made = await makeDemoBundles({ outDir: options.dir, models: [], nowMs: options.nowMs });
  const keys = new Map<KeyRole, SecretKey>();
  const key = (role: KeyRole): SecretKey => {
    const k = keys.get(role);
    if (k === undefined) throw new Error(`no demo ${role} key`);
    return k;
  };
  for (const role of ['root', 'build', 'qa', 'clinical', 'regulatory', 'release', 'field'] as const) {
    keys.set(role, await readSecretKeyFile(keyFilePaths(made.keysDir, `${DEMO_KID_PREFIX}${role}`).secret));
  }
  const trust = new Uint8Array(await fs.readFile(made.trustPath));
  const trustStore = TrustStore.loadAnchor(trust);
  const settings = JSON.stringify({
    reportIntervalS: options.reportIntervalS,
    candidates: options.candidates,
  });
  const kitBase = {
    dir: options.dir,
    keysDir: made.keysDir,
    trustPath: made.trustPath,
    trust,
    trustStore,
    key,
  };
  if (options.reuse === true) {
    const reused = await reuseBundles(options.bundleDir, settings, trustStore, options.nowMs);
    if (reused !== null) return { ...kitBase, ...reused };
  }
  const kit = { bundleDir: options.bundleDir, key };
  const bundles = new Map<string, DemoBundle>();
  const specs = new Map<Family, Spec>();
  const references = new Map<Family, Spec>();
  const baseline: DemoBundle[] = [];
  for (const family of ['fall-detector', 'af-screener'] as const) {
    const reference = await referenceSpec(family);
    references.set(family, reference);
    const spec = baselineSpec(reference, family, options.reportIntervalS);
    specs.set(family, spec);
    const b = await build(kit, family, family, spec, ['qa', 'clinical', 'regulatory'], options.nowMs);
    bundles.set(b.name, b);
    baseline.push(b);
  }
  const sequences = new Map<Family, number>();
  for (const c of options.candidates) {
    const base = specs.get(c.family);
    const reference = references.get(c.family);
    if (base === undefined || reference === undefined) throw new Error(`no baseline for ${c.family}`);
    // Candidates of a family in the order listed: sequence 2, 3, … (anti-rollback needs them rising).
    const sequence = (sequences.get(c.family) ?? 1) + 1;
    sequences.set(c.family, sequence);
    const b = await build(
      kit,
      c.name,
      c.family,
      candidateSpec(base, reference, c, sequence),
      c.approvals,
      options.nowMs,
    );
    bundles.set(b.name, b);
  }
  const index = {
    settings,
    bundles: [...bundles.values()].map((b) => ({
      name: b.name,
      family: b.family,
      file: path.basename(b.path),
      approvals: b.approvals,
    })),
  };
  await fs.writeFile(path.join(options.bundleDir, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  return { ...kitBase, bundles, baseline };
}

/** The bundles of an earlier preparation with the same settings, verified again (null: rebuild). */
async function reuseBundles(
  bundleDir: string,
  settings: string,
  trust: TrustStore,
  nowMs: number,
): Promise<{ bundles: Map<string, DemoBundle>; baseline: DemoBundle[] } | null> {
  let index: {
    settings?: unknown;
    bundles?: { name: string; family: Family; file: string; approvals: string[] }[];
  };
  try {
    index = JSON.parse(await fs.readFile(path.join(bundleDir, INDEX_FILE), 'utf8')) as typeof index;
  } catch {
    return null;
  }
  if (index.settings !== settings || !Array.isArray(index.bundles)) return null;
  const bundles = new Map<string, DemoBundle>();
  const baseline: DemoBundle[] = [];
  for (const entry of index.bundles) {
    const file = path.join(bundleDir, path.basename(entry.file));
    const stage = entry.approvals.length === 3 ? 'full' : 'shadow';
    const v = await verifyBundleFile(file, {
      trust,
      stage,
      now: () => nowMs,
      target: { kind: 'offline', deviceClass: null, runtimeVersion: null },
    }).catch(() => null);
    if (v === null && stage === 'full') return null;
    const manifest = v?.manifest;
    if (manifest === undefined) return null;
    const b: DemoBundle = {
      name: entry.name,
      family: entry.family,
      bundleId: manifest.bundleId,
      version: manifest.version,
      sequence: manifest.sequence,
      path: file,
      manifest,
      manifestSha256: v?.manifestSha256 ?? '',
      profileBytes: new Uint8Array(await fs.readFile(profilePath(entry.family))),
      approvals: entry.approvals,
    };
    bundles.set(b.name, b);
    if (b.name === b.family) baseline.push(b);
  }
  return { bundles, baseline };
}

/** A copy of a bundle with one byte flipped near its end (inside the last file's content). */
export async function corruptCopy(bundle: DemoBundle, out: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(await fs.readFile(bundle.path));
  const at = Math.floor(bytes.length * 0.9);
  bytes[at] = (bytes[at] ?? 0) ^ 0x5a;
  await fs.writeFile(out, bytes);
  return bytes;
}
