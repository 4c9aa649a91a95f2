// A deterministic example report for the fall detector (16 features): an hour of one wearer at one
// window per second, with every section present. Shared by the fixture test, the generator and docs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ed25519Signer, defaultEd25519, type Signer } from '../../../../models/format/index.ts';
import { parseProfile, type ReferenceProfile } from '../../../../models/profile/index.ts';
import type { TelemetryReport } from '../../../../monitor/report/index.ts';

export const FIXTURE_DIR = path.join(import.meta.dirname, 'fixtures');
export const EXAMPLE_KID = 'device-bedside-1';

/** A fixed test key: seed = SHA-256("vigil example device key"). Never used outside tests. */
export function exampleKey(): { signer: Signer; publicKey: Uint8Array; seed: Uint8Array } {
  const seed = new Uint8Array(crypto.createHash('sha256').update('vigil example device key').digest());
  return {
    signer: ed25519Signer(EXAMPLE_KID, seed),
    publicKey: defaultEd25519().publicKeyFromSeed(seed),
    seed,
  };
}

export function fallProfile(): ReferenceProfile {
  const file = path.join(import.meta.dirname, '../../../../models/reference/fall-detector/profile.json');
  return parseProfile(JSON.parse(fs.readFileSync(file, 'utf8')));
}

/** n split over proportions by largest remainders: deterministic, sums to n exactly. */
export function apportion(n: number, proportions: readonly number[]): number[] {
  const raw = proportions.map((p) => p * n);
  const out = raw.map(Math.floor);
  let left = n - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    out[i] = (out[i] as number) + 1;
    left--;
  }
  return out;
}

export function exampleReport(profile: ReferenceProfile = fallProfile()): TelemetryReport {
  const ok = 3400;
  const indeterminate = 40;
  const fallback = 160;
  const featured = ok + indeterminate + 60; // OOD fallbacks ran preprocessing; quality failures did not
  const features = profile.features.map((f) => apportion(featured, f.proportions));
  const scoreCounts = apportion(ok + indeterminate, profile.score.proportions);
  const cal = profile.calibration;
  const meanP = scoreCounts.map((_, i) => {
    const n = cal?.n[i] ?? 0;
    if (n > 0) return (cal?.sumP[i] ?? 0) / n;
    const e = profile.score.edges;
    return Math.min(1, Math.max(0, ((e[i - 1] ?? 0) + (e[i] ?? 1)) / 2));
  });
  const sumPMicro = scoreCounts.map((n, i) => Math.round(n * (meanP[i] as number) * 1e6));
  const labelN = scoreCounts.map(() => 0);
  const labelY = scoreCounts.map(() => 0);
  labelN[1] = 7;
  labelN[11] = 5;
  labelY[11] = 4;
  const latency = new Array<number>(63).fill(0);
  latency[21] = 1900; // 0.1–0.126 ms
  latency[22] = 1500;
  latency[23] = 180;
  latency[31] = 20; // ≈ 1 ms tail
  return {
    formatVersion: 1,
    fleet: 'ward-3',
    device: 'bedside-1',
    seq: 4711,
    createdMs: 1_767_229_200_250,
    startMs: 1_767_225_600_000,
    endMs: 1_767_229_200_000,
    model: {
      family: 'fall-detector',
      bundleId: 'fall-detector@1.0.0',
      version: '1.0.0',
      sequence: 1,
      manifestSha256: crypto.createHash('sha256').update('example manifest').digest('hex'),
      profileSha256: crypto.createHash('sha256').update('example profile').digest('hex'),
    },
    role: 'active',
    cohort: 'age=older;activity=low;placement=waist',
    runtimeVersion: '0.1.0',
    firmwareVersion: 'fw-2.4.1',
    windows: { ok, indeterminate, fallback },
    fallbackReasons: { QUALITY_CLIPPING: 100, OOD_SUPPORT: 60 },
    alerts: { model: 1, fallbackRule: 0, quality: 2 },
    episodes: { started: 3, ended: 3, windows: 160 },
    features,
    score: { counts: scoreCounts, sumPMicro },
    labels: {
      n: labelN,
      sumPMicro: labelN.map((n, i) => Math.round(n * (meanP[i] as number) * 1e6)),
      sumY: labelY,
      late: 3,
      unscored: 1,
    },
    latency,
    drift: { statistics: ['psi', 'js', 'ks', 'wasserstein'], alarm: false, flags: [{ index: 4, flags: 4 }] },
    change: {
      scoreAlarmsUp: 0,
      scoreAlarmsDown: 0,
      scoreUp: Math.fround(3.25),
      scoreDown: Math.fround(1.5),
      qualityAlarms: 0,
      quality: Math.fround(0.75),
    },
    shadow: [
      {
        candidateBundleId: 'fall-detector@1.1.0',
        pairs: 3600,
        agreements: 3571,
        candidate: { ok: 3395, indeterminate: 45, fallback: 160 },
        positives: { both: 11, activeOnly: 1, candidateOnly: 2, neither: 3370 },
      },
    ],
    evicted: {
      'routine-report': 0,
      event: 0,
      'update-status': 0,
      alert: 0,
      'audit-checkpoint': 0,
      'safety-event': 0,
    },
    suppressedSinceMs: null,
  };
}
