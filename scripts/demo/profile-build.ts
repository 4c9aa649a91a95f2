// Builds the reference profiles of the demo bundle variants from the demo fleet's own simulated
// population (scripts/demo/population.ts), and writes them to scripts/demo/profiles/ (committed).
//
//   node --import tsx scripts/demo/profile-build.ts [--check]
//
// Why: the shipped profiles describe the training generator's windows (fallWindows/afWindows, one
// activity per window); the demo streams continuous wearers, whose windows straddle activities. A
// device population differs from its reference by design when the two come from different
// generators (docs/telemetry-reports.md "Known limits"), so the demo variants carry a reference built
// from the population they are deployed to, as a real release would (docs/demo.md "Profiles").
// Deterministic: fixed seeds, windows sorted before sub-sampling, seeded null tables. `--check`
// rebuilds and compares with the committed files (exit 1 on a difference).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildReferenceProfile, parseProfile, type ReferenceProfile } from '../../models/profile/index.ts';
import {
  REFERENCE_FAMILIES,
  collectPopulation,
  referenceArtifacts,
  type PopulationWindow,
  type ReferenceFamily,
} from './population.ts';

export const DEMO_POPULATION = 'age=65+;activity=sedentary;placement=wrist';
export const PROFILE_SEED = 'vigil-demo-profile/1';
export const PROFILE_DIR = fileURLToPath(new URL('./profiles/', import.meta.url));

/** Wearers × seconds of the reference population, and the window stride per family. */
export const PROFILE_PLAN = Object.freeze({
  wearers: 75,
  seconds: 300,
  chunkS: 60,
  /** Every k-th window (by wearer and time): fewer overlapping, strongly correlated rows. */
  stride: Object.freeze({ 'fall-detector': 4, 'af-screener': 3 } as const),
});

export function profilePath(family: ReferenceFamily): string {
  return path.join(PROFILE_DIR, `${family}.json`);
}

function sortWindows(windows: readonly PopulationWindow[]): PopulationWindow[] {
  return [...windows].sort((a, b) => a.wearer - b.wearer || a.endS - b.endS);
}

export async function buildDemoProfiles(
  log: (line: string) => void,
): Promise<Map<ReferenceFamily, ReferenceProfile>> {
  const wearers = Array.from({ length: PROFILE_PLAN.wearers }, (_, i) => ({
    seed: `${PROFILE_SEED}/wearer-${i}`,
    population: DEMO_POPULATION,
    events: [],
  }));
  const started = Date.now();
  const population = await collectPopulation({
    wearers,
    seconds: PROFILE_PLAN.seconds,
    chunkS: PROFILE_PLAN.chunkS,
    onProgress: (done, total) => {
      if (done % 15 === 0)
        log(`  ${done}/${total} wearers (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    },
  });
  const out = new Map<ReferenceFamily, ReferenceProfile>();
  for (const family of REFERENCE_FAMILIES) {
    const all = sortWindows(population.get(family) ?? []);
    const scored = all.filter((w) => !Number.isNaN(w.score));
    const rows = scored.filter((_, i) => i % PROFILE_PLAN.stride[family] === 0);
    const artifacts = await referenceArtifacts(family);
    const names = artifacts.manifest.model.featureNames;
    const x = new Float64Array(rows.length * names.length);
    rows.forEach((w, i) => {
      x.set(w.features, i * names.length);
    });
    const t = artifacts.manifest.thresholds;
    const profile = buildReferenceProfile(
      {
        featureNames: names,
        x,
        scores: rows.map((w) => w.score),
        referenceSplit:
          `demo-fleet population (${DEMO_POPULATION}; simulator/fleet HOME_DAY; ${PROFILE_PLAN.wearers} wearers × ` +
          `${PROFILE_PLAN.seconds} s; every ${PROFILE_PLAN.stride[family]}th scored window; seed ${PROFILE_SEED})`,
      },
      {
        seed: 20_260_901,
        extraEdges: {
          score: [...new Set([t.operatingThreshold, t.releaseThreshold, t.indeterminateLow])],
        },
      },
    );
    log(
      `  ${family}: ${rows.length} reference rows of ${all.length} windows (${all.length - scored.length} fallbacks left out)`,
    );
    out.set(family, profile);
  }
  return out;
}

/** The file's text: JSON formatted as the repository formats it (Prettier), so `--check` is byte-exact. */
export async function profileJson(profile: ReferenceProfile, file: string): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(JSON.stringify(profile, null, 2), { ...options, filepath: file });
}

/** The committed demo profile of a family (its bytes are what the demo bundles carry). */
export async function readDemoProfile(family: ReferenceFamily): Promise<Uint8Array> {
  const bytes = new Uint8Array(await fs.readFile(profilePath(family)));
  parseProfile(JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown);
  return bytes;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`Building the demo reference profiles (${PROFILE_PLAN.wearers} simulated wearers)…`);
  const profiles = await buildDemoProfiles(log);
  await fs.mkdir(PROFILE_DIR, { recursive: true });
  let differs = false;
  for (const [family, profile] of profiles) {
    const text = await profileJson(profile, profilePath(family));
    if (check) {
      const old = await fs.readFile(profilePath(family), 'utf8').catch(() => '');
      if (old !== text) {
        differs = true;
        log(`  ${family}: DIFFERS from ${profilePath(family)}`);
      } else log(`  ${family}: identical`);
    } else {
      await fs.writeFile(profilePath(family), text);
      log(`  wrote ${profilePath(family)}`);
    }
  }
  if (differs) process.exitCode = 1;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
