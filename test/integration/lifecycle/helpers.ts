// Real bundles of the reference fall detector (its ONNX model, profile and evidence) signed with the
// bundle test kit's keys, with chosen rollout and quality policies; a daemon configuration for them;
// and a simulated wearer streaming accelerometer data through the daemon's runtime.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { approveBundle, buildBundle, signerFor, type RoleName } from '../../../models/format/index.ts';
import { DEFAULT_CONFIG, type RuntimeConfig } from '../../../runtime/config.ts';
import type { DeviceRuntimeApi } from '../../../runtime/api.ts';
import { validatePreprocessingWithOps } from '../../../runtime/verify/index.ts';
import { deviceRecording, type RecordingEvent } from '../../../simulator/index.ts';
import { KEYS, T0, tempDir } from '../../fixtures/bundles/kit.ts';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REFERENCE = path.join(ROOT, 'models', 'reference', 'fall-detector');
export const FAMILY = 'fall-detector';
export const DEVICE_CLASS = { vendorId: 'vigil-demo', classId: 'wearable-gateway-v1' };

export function referenceSpec(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(REFERENCE, 'bundle.json'), 'utf8')) as Record<string, unknown>;
}

/** A signed fall-detector bundle: sequence `n`, version 1.n.0, with edits to the reference spec. */
export async function fallBundle(
  n: number,
  dir: string,
  edit: (spec: Record<string, unknown>) => void = () => undefined,
  scope = 'full',
): Promise<string> {
  const spec = referenceSpec();
  spec.bundleId = `${FAMILY}@1.${n}.0`;
  spec.version = `1.${n}.0`;
  spec.sequence = n;
  edit(spec);
  const out = path.join(dir, `${FAMILY}-${n}.vbundle`);
  await buildBundle({
    spec,
    files: [
      { path: 'model.onnx', file: path.join(REFERENCE, 'model.onnx') },
      { path: 'profile.json', file: path.join(REFERENCE, 'profile.json') },
      { path: 'evidence.json', file: path.join(REFERENCE, 'evidence.json') },
    ],
    createdAtMs: T0 - 86_400_000,
    out,
    build: { signer: signerFor(KEYS.build), reviewer: 'CI <ci@acme.example>' },
    validatePreprocessing: validatePreprocessingWithOps,
  });
  for (const key of [KEYS.qa, KEYS.clinical, KEYS.regulatory]) {
    await approveBundle({
      bundle: out,
      signer: signerFor(key),
      role: key.role as RoleName,
      reviewer: `${key.kid} <${key.kid}@acme.example>`,
      scope,
      timeMs: T0 - 3600_000,
    });
  }
  return out;
}

export function rolloutPolicy(
  overrides: Record<string, unknown> = {},
  probation: Record<string, unknown> = {},
) {
  return {
    shadowMinWindows: 15,
    shadowMinAgreement: 0.95,
    maxFallbackRateIncrease: 0.02,
    maxAlertRateIncreasePer1k: 100,
    autoPromote: false,
    ...overrides,
    probation: {
      windows: 10,
      maxInferenceErrors: 0,
      maxDeadlineMisses: 5,
      maxFallbackRate: 0.5,
      maxLatencyP99Ms: 5000,
      ...probation,
    },
  };
}

export function daemonConfig(dataDir = tempDir('vigil-daemon-')): RuntimeConfig {
  return {
    ...DEFAULT_CONFIG,
    deviceId: 'gw-0001',
    fleet: 'ward-3',
    vendorId: DEVICE_CLASS.vendorId,
    classId: DEVICE_CLASS.classId,
    dataDir,
    backend: 'node',
    inferenceDeadlineMs: 2000,
  };
}

/** A wearer's accelerometer: `seconds` of signal with the given events, fed in 1 s frames. */
export class Wearer {
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly z: Float32Array;
  private readonly rateHz: number;
  private next = 0;

  constructor(
    private readonly runtime: DeviceRuntimeApi,
    readonly streamId: string,
    seconds: number,
    events: readonly RecordingEvent[],
    seed = 11,
    private readonly t0 = T0,
  ) {
    const rec = deviceRecording({ seed, seconds, events });
    this.x = rec.accel.x;
    this.y = rec.accel.y;
    this.z = rec.accel.z;
    this.rateHz = rec.accel.rateHz;
    runtime.openStream({
      deviceId: runtime.deviceId,
      streamId,
      sensor: 'accel',
      rateHz: this.rateHz,
      channelCount: 3,
    });
  }

  /** Pushes the next `seconds` of samples and waits for their results. */
  async stream(seconds: number): Promise<void> {
    for (let s = 0; s < seconds; s += 1) {
      const from = this.next;
      const to = Math.min(this.x.length, from + this.rateHz);
      if (to <= from) return;
      this.runtime.pushSamples({
        streamId: this.streamId,
        firstCounter: from,
        timestampMs: this.t0 + (from * 1000) / this.rateHz,
        channels: [this.x.subarray(from, to), this.y.subarray(from, to), this.z.subarray(from, to)],
      });
      this.next = to;
      await this.runtime.drain();
    }
  }
}
