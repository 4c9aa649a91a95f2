// Glue for `vigil models build`: simulator datasets → models/reference build → files on disk.
// The logic lives in models/reference/build.ts; this file only chooses inputs and writes outputs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  calibratePageHinkley,
  type ChangeCalibration,
  type PageHinkleyConfig,
} from '../../monitor/stats/index.ts';
import {
  buildReferenceModel,
  type RawExample,
  type ReferenceBuild,
  type ReferenceModelSpec,
} from '../../models/reference/build.ts';
import {
  AF_SCREENER_DATASET,
  AF_SCREENER_POPULATION,
  AF_SCREENER_SPEC,
} from '../../models/reference/af-screener/spec.ts';
import {
  FALL_DETECTOR_DATASET,
  FALL_DETECTOR_POPULATION,
  FALL_DETECTOR_SPEC,
} from '../../models/reference/fall-detector/spec.ts';
import { dependencyLockSha256, sourceCommit } from '../../models/training/index.ts';
import { afWindows, fallWindows } from '../../simulator/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ReferenceEntry {
  readonly spec: ReferenceModelSpec;
  readonly description: string;
  examples(): RawExample[];
  /** In-use prevalence and mix: the drift reference (see buildReferenceModel). */
  population(): RawExample[];
}

const fallExamples = (options: Parameters<typeof fallWindows>[0]): RawExample[] =>
  fallWindows(options).map((w) => ({
    id: w.id,
    cohort: w.cohort,
    label: w.label,
    kind: w.kind,
    channels: [Float64Array.from(w.x), Float64Array.from(w.y), Float64Array.from(w.z)],
  }));

const afExamples = (options: Parameters<typeof afWindows>[0]): RawExample[] =>
  afWindows(options).map((w) => ({
    id: w.id,
    cohort: w.cohort,
    label: w.label,
    kind: w.kind,
    channels: [Float64Array.from(w.samples)],
  }));

export const REFERENCE_MODELS: readonly ReferenceEntry[] = [
  {
    spec: FALL_DETECTOR_SPEC,
    description: `simulator fallWindows ${JSON.stringify(FALL_DETECTOR_DATASET)}; population ${JSON.stringify(FALL_DETECTOR_POPULATION)}`,
    examples: () => fallExamples(FALL_DETECTOR_DATASET),
    population: () => fallExamples(FALL_DETECTOR_POPULATION),
  },
  {
    spec: AF_SCREENER_SPEC,
    description: `simulator afWindows ${JSON.stringify(AF_SCREENER_DATASET)}; population ${JSON.stringify(AF_SCREENER_POPULATION)}`,
    examples: () => afExamples(AF_SCREENER_DATASET),
    population: () => afExamples(AF_SCREENER_POPULATION),
  },
];

export function referenceDir(name: string): string {
  return path.join(ROOT, 'models', 'reference', name);
}

/** What the bundle spec takes from training: feature order, thresholds, change-detection calibration. */
export interface BuildOutputs {
  readonly model: string;
  readonly version: string;
  readonly featureNames: readonly string[];
  readonly thresholds: ReferenceBuild['thresholds'];
  readonly changeDetection: ChangeCalibration<PageHinkleyConfig>;
  readonly datasetSnapshotSha256: string;
}

export interface ReferenceArtifacts {
  readonly files: Readonly<Record<string, Uint8Array>>;
  readonly evidence: ReferenceBuild['evidence'];
}

/** The artifacts pinned by the lock (deterministic) and the evidence (carries commit and lock hash). */
export async function buildReference(entry: ReferenceEntry): Promise<ReferenceArtifacts> {
  const build = await buildReferenceModel(entry.spec, entry.examples(), entry.population(), {
    sourceCommit: sourceCommit(),
    dependencyLockSha256: dependencyLockSha256(path.join(ROOT, 'package-lock.json')),
    datasetDescription: entry.description,
  });
  const mean = build.referenceScores.reduce((a, b) => a + b, 0) / build.referenceScores.length;
  // Page–Hinkley on the per-window score, against the validation mean, calibrated to one false
  // alarm per 10,000 in-control windows (stated in the bundle's monitoring policy).
  const changeDetection = calibratePageHinkley({
    stream: { kind: 'bootstrap', values: build.referenceScores },
    delta: 0.05,
    targetFalseAlarmsPer10k: 1,
    seed: entry.spec.profileSeed + 10,
    baseline: { kind: 'reference', mean },
    streamLength: 400_000,
  });
  const outputs: BuildOutputs = {
    model: entry.spec.name,
    version: entry.spec.version,
    featureNames: build.featureNames,
    thresholds: build.thresholds,
    changeDetection,
    datasetSnapshotSha256: build.datasetSnapshotSha256,
  };
  const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 1)}\n`);
  return {
    files: { 'model.onnx': build.onnx, 'profile.json': json(build.profile), 'build.json': json(outputs) },
    evidence: build.evidence,
  };
}

function sha256(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function lockOf(artifacts: ReferenceArtifacts): Record<string, string> {
  return Object.fromEntries(Object.entries(artifacts.files).map(([name, bytes]) => [name, sha256(bytes)]));
}

export async function buildAndWriteReference(entry: ReferenceEntry): Promise<ReferenceArtifacts> {
  const artifacts = await buildReference(entry);
  const dir = referenceDir(entry.spec.name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(artifacts.files)) fs.writeFileSync(path.join(dir, name), bytes);
  fs.writeFileSync(path.join(dir, 'evidence.json'), `${JSON.stringify(artifacts.evidence, null, 1)}\n`);
  fs.writeFileSync(path.join(dir, 'model.lock.json'), `${JSON.stringify(lockOf(artifacts), null, 1)}\n`);
  syncBundleSpec(path.join(dir, 'bundle.json'), artifacts);
  return artifacts;
}

/**
 * The bundle spec is reviewed by people, but some of its fields are facts of the training run:
 * feature order, thresholds, change-detection calibration, provenance and the evidence summary.
 * Those are rewritten here so the spec can never drift from the model it ships.
 */
function syncBundleSpec(file: string, artifacts: ReferenceArtifacts): void {
  if (!fs.existsSync(file)) return;
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  const outputs = JSON.parse(new TextDecoder().decode(artifacts.files['build.json'])) as BuildOutputs;
  const { dataset: _dataset, ...provenance } = artifacts.evidence.provenance;
  const monitoring = spec.monitoring ?? {};
  spec.model = { ...spec.model, featureNames: outputs.featureNames };
  spec.thresholds = { ...spec.thresholds, ...outputs.thresholds };
  spec.monitoring = {
    ...monitoring,
    changeDetection: {
      delta: outputs.changeDetection.config.delta,
      lambda: outputs.changeDetection.config.lambda,
      direction: outputs.changeDetection.config.direction,
      minSamples: outputs.changeDetection.config.minSamples,
      falseAlarmsPer10kWindows: outputs.changeDetection.validation.falseAlarmsPer10k,
    },
  };
  spec.provenance = provenance;
  spec.evidence = artifacts.evidence.summary as unknown as Record<string, unknown>;
  fs.writeFileSync(file, `${JSON.stringify(spec, null, 2)}\n`);
}

/** Rebuilds in memory; returns one line per artifact whose SHA-256 differs from the committed lock. */
export async function checkReferenceLock(entry: ReferenceEntry): Promise<string[]> {
  const lockFile = path.join(referenceDir(entry.spec.name), 'model.lock.json');
  const committed = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as Record<string, string>;
  const fresh = lockOf(await buildReference(entry));
  const names = new Set([...Object.keys(committed), ...Object.keys(fresh)]);
  const problems: string[] = [];
  for (const name of names) {
    if (committed[name] !== fresh[name]) {
      problems.push(`${name}: lock ${committed[name] ?? 'absent'}, rebuild ${fresh[name] ?? 'absent'}`);
    }
    // The committed file itself must be what the lock names (nothing reformatted or edited by hand).
    const file = path.join(referenceDir(entry.spec.name), name);
    const onDisk = fs.existsSync(file) ? sha256(fs.readFileSync(file)) : 'absent';
    if (committed[name] !== onDisk)
      problems.push(`${name}: lock ${committed[name] ?? 'absent'}, file ${onDisk}`);
  }
  return problems;
}
