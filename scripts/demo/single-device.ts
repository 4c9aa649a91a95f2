// The first demo: one simulated wearer with an accelerometer and an ECG patch. The reference models
// are packaged as signed demo bundles, verified against the demo trust document, extracted, loaded
// and run on a 60 s recording with a fall, an ECG lead-off and an AF episode injected.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { artifactsFromStagedBundle, assembleRuntime } from '../../runtime/assemble.ts';
import { DEFAULT_CONFIG, type RuntimeConfig } from '../../runtime/config.ts';
import type { WindowResult } from '../../runtime/pipeline/index.ts';
import { TrustStore } from '../../runtime/trust/index.ts';
import { extractVerifiedBundle, verifyBundleFile } from '../../runtime/verify/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';
import { deviceRecording } from '../../simulator/index.ts';
import { withFileSource } from '../../models/format/index.ts';
import { makeDemoBundles, referenceModel } from '../demo-keys/demo-bundles.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SingleDeviceOptions {
  /** Where demo keys, trust and bundles live (created on first run). */
  readonly workDir: string;
  readonly seconds: number;
  readonly seed: number;
  readonly out: (line: string) => void;
  readonly progress: boolean;
}

export interface SingleDeviceSummary {
  readonly results: readonly WindowResult[];
  readonly fallDetectedAtS: number | null;
  readonly afDetectedAtS: number | null;
  readonly leadOffFallbacks: number;
}

const FALL_AT_S = 8;
const LEAD_OFF = { startS: 2, endS: 6 } as const;
const AF = { startS: 12, endS: 600 } as const;
const FRAME_S = 0.2;

export async function runSingleDeviceDemo(options: SingleDeviceOptions): Promise<SingleDeviceSummary> {
  const out = options.out;
  const now = Date.now();
  out(`Vigil ${RUNTIME_VERSION} — single-device demo (seed ${options.seed})`);
  out('1. Packaging the reference models as signed bundles with DEMO keys (not for clinical use)…');
  const demo = await makeDemoBundles({
    outDir: options.workDir,
    nowMs: now,
    models: ['fall-detector', 'af-screener'].map((name) =>
      referenceModel(path.join(ROOT, 'models', 'reference', name)),
    ),
  });
  const trust = TrustStore.loadAnchor(await fs.readFile(demo.trustPath));
  const config: RuntimeConfig = { ...DEFAULT_CONFIG, deviceId: 'demo-wearer-001' };

  out('2. Verifying each bundle (signatures, approvals, digests, anti-rollback, expiry, device class)…');
  const stagingRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'vigil-demo-staging-'));
  const artifacts = [];
  try {
    for (const bundle of demo.bundles) {
      const verified = await verifyBundleFile(bundle.path, {
        trust,
        stage: 'full',
        now: () => now,
        target: {
          kind: 'device',
          deviceClass: { vendorId: config.vendorId, classId: config.classId },
          runtimeVersion: RUNTIME_VERSION,
          installed: new Map(),
        },
      });
      const approvals = verified.approvals.map((a) => a.role).join(', ');
      out(
        `   ✓ ${verified.manifest.bundleId} — approvals: ${approvals}; manifest ${verified.manifestSha256.slice(0, 12)}…`,
      );
      const dir = path.join(stagingRoot, verified.manifest.modelFamily);
      await withFileSource(bundle.path, (source) => extractVerifiedBundle(source, verified, dir));
      artifacts.push(await artifactsFromStagedBundle(dir, verified.manifest, verified.manifestSha256));
    }
  } finally {
    await fs.rm(stagingRoot, { recursive: true, force: true });
  }

  const assembled = await assembleRuntime(artifacts, { config });
  out(`3. Runtime up: backend ${assembled.backend.backend.kind} (${assembled.backend.reason})`);
  const recording = deviceRecording({
    seed: options.seed,
    seconds: options.seconds,
    events: [
      { kind: 'lead-off', startS: LEAD_OFF.startS, endS: LEAD_OFF.endS },
      { kind: 'fall', atS: FALL_AT_S, direction: 'forward' },
      { kind: 'af', startS: AF.startS, endS: Math.min(AF.endS, options.seconds) },
    ],
  });
  out(
    `4. Streaming ${options.seconds} s of simulated signals: fall at ${FALL_AT_S} s, ECG lead-off ` +
      `${LEAD_OFF.startS}–${LEAD_OFF.endS} s, AF from ${AF.startS} s`,
  );

  const { runtime } = assembled;
  const results: WindowResult[] = [];
  runtime.onResult((result) => results.push(result));
  const t0 = now;
  runtime.openStream({
    deviceId: config.deviceId,
    streamId: 'accel',
    sensor: 'accel',
    rateHz: recording.accel.rateHz,
    channelCount: 3,
  });
  runtime.openStream({
    deviceId: config.deviceId,
    streamId: 'ecg',
    sensor: 'ecg',
    rateHz: recording.ecg.rateHz,
    channelCount: 1,
  });
  const bar = options.progress
    ? new cliProgress.SingleBar(
        { format: '   {bar} {value}/{total} s simulated', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(options.seconds, 0);
  const frames = Math.ceil(options.seconds / FRAME_S);
  for (let f = 0; f < frames; f += 1) {
    const push = (
      streamId: string,
      rateHz: number,
      channels: readonly Float32Array[],
      flags?: Uint8Array,
    ) => {
      const from = Math.round(f * FRAME_S * rateHz);
      const to = Math.min(channels[0]?.length ?? 0, Math.round((f + 1) * FRAME_S * rateHz));
      if (to <= from) return;
      runtime.pushSamples({
        streamId,
        firstCounter: from,
        timestampMs: t0 + (from * 1000) / rateHz,
        channels: channels.map((c) => c.subarray(from, to)),
        ...(flags ? { flags: flags.subarray(from, to) } : {}),
      });
    };
    push('accel', recording.accel.rateHz, [recording.accel.x, recording.accel.y, recording.accel.z]);
    push('ecg', recording.ecg.rateHz, [recording.ecg.samples], recording.ecg.flags);
    await runtime.drain();
    bar?.update(Math.min(options.seconds, (f + 1) * FRAME_S));
  }
  bar?.stop();
  await assembled.close();

  const at = (r: WindowResult) => (r.endMs - t0) / 1000;
  const alertOf = (family: string) =>
    results.find((r) => r.provenance.modelFamily === family && r.status.kind === 'ok' && r.status.alert) ??
    null;
  const fall = alertOf('fall-detector');
  const af = alertOf('af-screener');
  const leadOffFallbacks = results.filter(
    (r) => r.status.kind === 'fallback' && r.status.reason === 'QUALITY_SENSOR_FLAG',
  ).length;
  out('5. Results (window end → status):');
  for (const r of results) {
    const s = r.status;
    const interesting = s.kind !== 'ok' || s.positive || s.alert;
    if (!interesting) continue;
    const detail =
      s.kind === 'ok'
        ? `${s.label} p=${s.score.toFixed(3)}${s.alert ? '  ALERT' : ''}`
        : s.kind === 'fallback'
          ? `fallback ${s.reason} → ${s.output.kind}`
          : `indeterminate p=${s.score.toFixed(3)}`;
    out(`   ${at(r).toFixed(1).padStart(5)} s  ${r.provenance.modelFamily.padEnd(13)} ${detail}`);
  }
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.status.kind, (counts.get(r.status.kind) ?? 0) + 1);
  out(`   ${results.length} windows: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`);
  out('6. Summary');
  out(
    fall
      ? `   ✓ fall detected: alert at ${at(fall).toFixed(1)} s (injected at ${FALL_AT_S} s)`
      : '   ✗ no fall alert',
  );
  out(
    af
      ? `   ✓ AF detected: alert at ${at(af).toFixed(1)} s (episode from ${AF.startS} s)`
      : '   ✗ no AF alert',
  );
  out(
    `   ✓ ECG lead-off: ${leadOffFallbacks} windows answered with the declared fallback, never as model output`,
  );
  return {
    results,
    fallDetectedAtS: fall ? at(fall) : null,
    afDetectedAtS: af ? at(af) : null,
    leadOffFallbacks,
  };
}
