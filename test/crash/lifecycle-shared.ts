// Shared by the lifecycle crash test (parent) and its driver (child): the device, the bundles, and the
// checks run on a data directory after every SIGKILL.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeManifest } from '../../models/format/index.ts';
import { verifyChain, type AuditRow, type AuditVerdict } from '../../runtime/state/index.ts';
import { recheckStagedBundle } from '../../runtime/verify/index.ts';
import { DEVICE_CLASS, makeBundle, sampleSpec } from '../fixtures/bundles/kit.ts';

export const CRASH_DEVICE = {
  deviceId: 'crash-gw-1',
  fleet: 'crash-fleet',
  cohort: null,
  deviceClass: DEVICE_CLASS,
  runtimeVersion: '0.1.0',
} as const;

export const CRASH_FAMILIES = ['fall-detector', 'gait-monitor'] as const;
export const CRASH_SEQUENCES = 45;

export function bundlePath(dir: string, family: string, sequence: number): string {
  return path.join(dir, `${family}-${sequence}.vbundle`);
}

/**
 * Bundles 1..CRASH_SEQUENCES of each family: even sequences promote automatically after 5 agreeing
 * shadow windows, odd ones need a command; probation is 20 windows with no inference error allowed.
 */
export async function buildCrashBundles(dir: string): Promise<void> {
  for (const family of CRASH_FAMILIES) {
    for (let sequence = 1; sequence <= CRASH_SEQUENCES; sequence += 1) {
      const model = new Uint8Array(48 * 1024);
      crypto.createHash('sha256').update(`${family}/${sequence}`).digest().copy(model);
      for (let i = 32; i < model.length; i += 1) model[i] = (model[i - 32] ?? 0) ^ (i & 0xff);
      await makeBundle({
        dir,
        name: path.basename(bundlePath(dir, family, sequence)),
        model,
        spec: sampleSpec({
          bundleId: `${family}@2.${sequence}.0`,
          modelFamily: family,
          version: `2.${sequence}.0`,
          sequence,
          rollout: {
            shadowMinWindows: 5,
            shadowMinAgreement: 0.9,
            maxFallbackRateIncrease: 0.1,
            maxAlertRateIncreasePer1k: 100,
            autoPromote: sequence % 2 === 0,
            probation: {
              windows: 20,
              maxInferenceErrors: 0,
              maxDeadlineMisses: 0,
              maxFallbackRate: 0.5,
              maxLatencyP99Ms: 1000,
            },
          },
        }),
      });
    }
  }
}

/** What slots hold per family (the state a completed operation acknowledges). */
export type SlotSummary = Record<
  string,
  { a: string | null; c: string | null; l: string | null; m: string | null }
>;

export interface DataDirCheck {
  readonly integrity: string;
  readonly verdict: AuditVerdict;
  readonly count: number;
  readonly hashAt: (seq: number) => string | undefined;
  readonly slots: SlotSummary;
  readonly frozen: boolean;
  /** Problems with the bundles in slots (none expected). */
  readonly problems: readonly string[];
}

/** Opens the state of a dead driver and checks it (integrity, chain, whole bundles in every slot). */
export async function checkDataDir(dataDir: string): Promise<DataDirCheck> {
  const db = new Database(path.join(dataDir, 'state.db'));
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const rows = db.prepare('SELECT * FROM audit ORDER BY rowid').all() as AuditRow[];
    const verdict = verifyChain(rows);
    const hashes = new Map(rows.map((r) => [r.seq, r.hash]));
    const problems: string[] = [];
    const slots: SlotSummary = {};
    const slotRows = db.prepare('SELECT * FROM slots ORDER BY family, slot').all() as {
      family: string;
      slot: string;
      manifest_sha256: string;
      detail: string;
    }[];
    for (const row of slotRows) {
      const entry = (slots[row.family] ??= { a: null, c: null, l: null, m: null });
      const key = row.slot === 'active' ? 'a' : row.slot === 'candidate' ? 'c' : 'l';
      if (entry[key] !== null) problems.push(`${row.family} has two ${row.slot} slots`);
      entry[key] = row.manifest_sha256.slice(0, 12);
      if (row.slot === 'active') entry.m = (JSON.parse(row.detail) as { mode: { kind: string } }).mode.kind;
      const bundle = db
        .prepare('SELECT manifest, family FROM bundles WHERE manifest_sha256 = ?')
        .get(row.manifest_sha256) as { manifest: Uint8Array; family: string } | undefined;
      if (!bundle) {
        problems.push(`${row.family} ${row.slot} names a bundle that is not installed`);
        continue;
      }
      if (bundle.family !== row.family)
        problems.push(`${row.family} ${row.slot} holds a ${bundle.family} bundle`);
      const digest = crypto.createHash('sha256').update(bundle.manifest).digest('hex');
      if (digest !== row.manifest_sha256)
        problems.push(`${row.family} ${row.slot}: stored manifest digest differs`);
      try {
        // Old or new, never a mix: every file of the bundle in the slot re-hashes to its manifest.
        await recheckStagedBundle(
          path.join(dataDir, 'bundles', row.manifest_sha256),
          decodeManifest(bundle.manifest),
        );
      } catch (error) {
        problems.push(`${row.family} ${row.slot}: ${(error as Error).message}`);
      }
    }
    const frozenRow = db.prepare("SELECT value FROM device_meta WHERE key = 'frozen'").get() as
      { value: string } | undefined;
    const frozen = frozenRow ? (JSON.parse(frozenRow.value) as { frozen: boolean }).frozen : false;
    return {
      integrity,
      verdict,
      count: rows.length,
      hashAt: (seq) => hashes.get(seq),
      slots,
      frozen,
      problems,
    };
  } finally {
    db.close();
  }
}

/** Bundle directories on disk vs installed rows, and leftovers in staging (after a boot: none). */
export function leftovers(
  dataDir: string,
  installed: readonly string[],
): { orphans: string[]; staging: string[] } {
  const dirs = fs.readdirSync(path.join(dataDir, 'bundles'));
  return {
    orphans: dirs.filter((d) => !installed.includes(d)),
    staging: fs.readdirSync(path.join(dataDir, 'install-staging')),
  };
}
