// The demo fleet's in-use population seen through the real pipeline: simulated wearers (the same
// generator the fleet scenarios stream, simulator/fleet) are pushed through an assembled runtime with
// the reference models, faster than real time, and every window whose preprocessing ran is kept with
// its features and score. This is what a device of the demo fleet sees, so it is what the demo
// bundles' reference profiles are built from (scripts/demo/profile-build.ts; docs/demo.md).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifestFromSpec, sha256OfFile, bytesToHex, type Manifest } from '../../models/format/index.ts';
import { parseProfile } from '../../models/profile/index.ts';
import { assembleRuntime } from '../../runtime/assemble.ts';
import { DEFAULT_CONFIG } from '../../runtime/config.ts';
import type { ModelArtifacts } from '../../runtime/loader.ts';
import type { WindowResult } from '../../runtime/pipeline/index.ts';
import { validatePreprocessingWithOps } from '../../runtime/verify/index.ts';
import { wearerChunk, type WearerProfile } from '../../simulator/fleet/wearer.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const REFERENCE_FAMILIES = ['fall-detector', 'af-screener'] as const;
export type ReferenceFamily = (typeof REFERENCE_FAMILIES)[number];

export function referenceDir(family: ReferenceFamily): string {
  return path.join(REPO_ROOT, 'models', 'reference', family);
}

/** An unsigned manifest of a reference model's spec, for running it outside a bundle. */
export async function referenceArtifacts(family: ReferenceFamily): Promise<ModelArtifacts> {
  const dir = referenceDir(family);
  const spec = JSON.parse(await fs.readFile(path.join(dir, 'bundle.json'), 'utf8')) as unknown;
  const names = ['model.onnx', 'profile.json', 'evidence.json'];
  const files = [];
  for (const name of names) {
    const { size, sha256 } = await sha256OfFile(path.join(dir, name));
    files.push({ path: name, size, sha256: bytesToHex(sha256) });
  }
  const manifest: Manifest = manifestFromSpec(spec, {
    createdAtMs: Date.UTC(2026, 0, 1),
    files,
  });
  validatePreprocessingWithOps(manifest);
  const modelBytes = new Uint8Array(await fs.readFile(path.join(dir, 'model.onnx')));
  const profile = parseProfile(JSON.parse(await fs.readFile(path.join(dir, 'profile.json'), 'utf8')));
  return { manifest, manifestSha256: '0'.repeat(64), modelBytes, profile };
}

/** One analysed window: who, when (seconds since the wearer started), features and score. */
export interface PopulationWindow {
  readonly wearer: number;
  readonly endS: number;
  readonly status: WindowResult['status']['kind'];
  readonly features: Float64Array;
  /** NaN for fallbacks (no score). */
  readonly score: number;
}

export interface PopulationOptions {
  readonly wearers: readonly WearerProfile[];
  readonly seconds: number;
  /** Chunk length of the wearer generator (as the fleet streams it). */
  readonly chunkS: number;
  readonly families?: readonly ReferenceFamily[];
  readonly onProgress?: (done: number, total: number) => void;
}

const FRAME_S = 1;

/** Streams every wearer through the reference models; windows per family. */
export async function collectPopulation(
  options: PopulationOptions,
): Promise<Map<ReferenceFamily, PopulationWindow[]>> {
  const families = options.families ?? REFERENCE_FAMILIES;
  const artifacts = await Promise.all(families.map((f) => referenceArtifacts(f)));
  const out = new Map<ReferenceFamily, PopulationWindow[]>(families.map((f) => [f, []]));
  const wearerOf = new Map<string, number>();
  const t0 = Date.UTC(2026, 0, 1);
  const assembled = await assembleRuntime(artifacts, {
    config: { ...DEFAULT_CONFIG, inferenceDeadlineMs: 1000, batchMaxWaitMs: 0 },
    observer: {
      onResult: (result, features) => {
        if (features === null || result.shadow) return;
        const family = result.provenance.modelFamily as ReferenceFamily;
        const s = result.status;
        out.get(family)?.push({
          wearer: wearerOf.get(result.streamId) ?? -1,
          endS: (result.endMs - t0) / 1000,
          status: s.kind,
          features: Float64Array.from(features),
          score: s.kind === 'fallback' ? Number.NaN : s.score,
        });
      },
    },
  });
  try {
    const runtime = assembled.runtime;
    for (const [w, profile] of options.wearers.entries()) {
      const device = `pop-${w}`;
      const streams = { accel: `${device}/accel`, ecg: `${device}/ecg` };
      wearerOf.set(streams.accel, w);
      wearerOf.set(streams.ecg, w);
      const accel = families.includes('fall-detector');
      const ecg = families.includes('af-screener');
      if (accel) {
        runtime.openStream({
          deviceId: device,
          streamId: streams.accel,
          sensor: 'accel',
          rateHz: 50,
          channelCount: 3,
        });
      }
      if (ecg) {
        runtime.openStream({
          deviceId: device,
          streamId: streams.ecg,
          sensor: 'ecg',
          rateHz: 250,
          channelCount: 1,
        });
      }
      const chunks = Math.ceil(options.seconds / options.chunkS);
      for (let c = 0; c < chunks; c += 1) {
        const fromS = c * options.chunkS;
        const len = Math.min(options.chunkS, options.seconds - fromS);
        if (len < 5) break;
        const rec = wearerChunk(profile, c, fromS, len);
        for (let f = 0; f * FRAME_S < len; f += 1) {
          const push = (
            stream: string,
            rateHz: number,
            channels: readonly Float32Array[],
            flags?: Uint8Array,
          ) => {
            const base = Math.round(fromS * rateHz);
            const from = Math.round(f * FRAME_S * rateHz);
            const to = Math.min(channels[0]?.length ?? 0, Math.round((f + 1) * FRAME_S * rateHz));
            if (to <= from) return;
            runtime.pushSamples({
              streamId: `${device}/${stream}`,
              firstCounter: base + from,
              timestampMs: t0 + ((base + from) * 1000) / rateHz,
              channels: channels.map((ch) => ch.subarray(from, to)),
              ...(flags ? { flags: flags.subarray(from, to) } : {}),
            });
          };
          if (accel) push('accel', rec.accel.rateHz, [rec.accel.x, rec.accel.y, rec.accel.z]);
          if (ecg) push('ecg', rec.ecg.rateHz, [rec.ecg.samples], rec.ecg.flags);
          await runtime.drain();
        }
      }
      options.onProgress?.(w + 1, options.wearers.length);
    }
  } finally {
    await assembled.close();
  }
  return out;
}
