// Bundle verification cost, as ratios against SHA-256 of the same bytes (DESIGN.md "bundle" baseline),
// and Ed25519 verification with tweetnacl vs node:crypto (the reason the runtime picks node:crypto).
// Run: npm run bench -- bundle   (or: node scripts/vigil.js bench bundle)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchFigure } from './harness.ts';
import {
  approveBundle,
  buildBundle,
  bytesSource,
  generateKey,
  nodeEd25519,
  sha256,
  signerFor,
  tweetnaclEd25519,
  type KeyRole,
  type RoleName,
} from '../models/format/index.ts';
import { TrustStore, createTrustDocument, signTrustDocument } from '../runtime/trust/index.ts';
import { verifyBundle, verifyBundleFile, type VerifyBundleOptions } from '../runtime/verify/index.ts';
import { DEFAULT_CONFIG } from '../runtime/config.ts';
import { RUNTIME_VERSION } from '../runtime/version.ts';

export const name = 'bundle';

const MODEL_BYTES = 50 * 1024 * 1024;
const RUNS = 9;
const NOW = Date.UTC(2026, 0, 15);

/** Deterministic pseudo-random model bytes (xorshift32), so every run hashes the same data. */
function modelBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const view = new Uint32Array(out.buffer, 0, n >>> 2);
  let x = 0x9e3779b9;
  for (let i = 0; i < view.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view[i] = x >>> 0;
  }
  return out;
}

const key = (kid: string, role: KeyRole) =>
  generateKey(kid, role, () => sha256(new TextEncoder().encode(`bench/${kid}`)));

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function time(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function sha256File(file: string): Promise<string> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const hash = crypto.createHash('sha256');
    const buffer = new Uint8Array(1024 * 1024);
    for (let at = 0; ;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

export async function run(log: (line: string) => void): Promise<readonly BenchFigure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-bundle-'));
  try {
    const keys = {
      root: key('bench-root', 'root'),
      build: key('bench-build', 'build'),
      qa: key('bench-qa', 'qa'),
      clinical: key('bench-clinical', 'clinical'),
      regulatory: key('bench-regulatory', 'regulatory'),
    };
    const doc = createTrustDocument({
      issuedAtMs: NOW,
      keys: Object.values(keys).map((k) => ({
        kid: k.kid,
        role: k.role,
        alg: 'EdDSA',
        publicKey: k.publicKey,
        holder: 'bench',
      })),
    });
    const trust = TrustStore.loadAnchor(signTrustDocument(doc, [signerFor(keys.root)]));

    const model = modelBytes(MODEL_BYTES);
    fs.writeFileSync(path.join(dir, 'model.onnx'), model);
    fs.writeFileSync(path.join(dir, 'profile.json'), '{}');
    fs.writeFileSync(path.join(dir, 'evidence.json'), '{}');
    const spec = JSON.parse(
      fs.readFileSync(new URL('../models/reference/fall-detector/bundle.json', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    const out = path.join(dir, 'bench.vbundle');
    await buildBundle({
      spec: {
        ...spec,
        deviceClasses: [{ vendorId: DEFAULT_CONFIG.vendorId, classId: DEFAULT_CONFIG.classId }],
      },
      files: ['model.onnx', 'profile.json', 'evidence.json'].map((p) => ({
        path: p,
        file: path.join(dir, p),
      })),
      createdAtMs: NOW,
      out,
      build: { signer: signerFor(keys.build), reviewer: 'bench <bench@vigil.invalid>' },
    });
    for (const role of ['qa', 'clinical', 'regulatory'] as const satisfies readonly RoleName[]) {
      await approveBundle({
        bundle: out,
        signer: signerFor(keys[role]),
        role,
        reviewer: `${role} <${role}@vigil.invalid>`,
        scope: 'full',
        timeMs: NOW,
      });
    }
    const bundleBytes = new Uint8Array(fs.readFileSync(out));
    log(
      `bundle: ${(bundleBytes.length / 1024 / 1024).toFixed(1)} MiB, 4 signatures (build, qa, clinical, regulatory)`,
    );

    const options: VerifyBundleOptions = {
      trust,
      stage: 'full',
      now: () => NOW,
      target: {
        kind: 'device',
        deviceClass: { vendorId: DEFAULT_CONFIG.vendorId, classId: DEFAULT_CONFIG.classId },
        runtimeVersion: RUNTIME_VERSION,
        installed: new Map(),
      },
    };

    // Warm up both paths (JIT, page cache), then interleave runs so drift on a shared machine hits both.
    await verifyBundle(bytesSource(bundleBytes), options);
    await verifyBundleFile(out, options);
    const memVerify: number[] = [];
    const memHash: number[] = [];
    const fileVerify: number[] = [];
    const fileHash: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      memHash.push(await time(() => crypto.createHash('sha256').update(bundleBytes).digest()));
      memVerify.push(await time(() => verifyBundle(bytesSource(bundleBytes), options)));
      fileHash.push(await time(() => sha256File(out)));
      fileVerify.push(await time(() => verifyBundleFile(out, options)));
    }
    const memRatio = median(memVerify) / median(memHash);
    const fileRatio = median(fileVerify) / median(fileHash);
    log(
      `in memory: verify ${median(memVerify).toFixed(1)} ms, SHA-256 ${median(memHash).toFixed(1)} ms (median of ${RUNS})`,
    );
    log(
      `from file: verify ${median(fileVerify).toFixed(1)} ms, SHA-256 streamed ${median(fileHash).toFixed(1)} ms`,
    );

    // Ed25519 verification of one approval-sized Sig_structure.
    const node = nodeEd25519();
    const tweet = tweetnaclEd25519();
    const message = crypto.randomBytes(400);
    const signature = node.sign(keys.qa.seed, message);
    const perVerifyUs = async (impl: typeof node, n: number): Promise<number> => {
      impl.verify(keys.qa.publicKey, message, signature);
      const ms = await time(() => {
        for (let i = 0; i < n; i++) impl.verify(keys.qa.publicKey, message, signature);
      });
      return (ms * 1000) / n;
    };
    const nodeUs = await perVerifyUs(node, 2000);
    const tweetUs = await perVerifyUs(tweet, 30);
    log(
      `Ed25519 verify: node:crypto ${nodeUs.toFixed(1)} µs, tweetnacl ${tweetUs.toFixed(0)} µs (${(tweetUs / nodeUs).toFixed(0)}×)`,
    );

    const round = (x: number, d = 3): number => Number(x.toFixed(d));
    return [
      {
        bench: 'bundle-verify-50mb',
        metric: 'time_ratio',
        value: round(memRatio),
        unit: 'ratio',
        baseline: 'node:crypto SHA-256 over the same bytes',
        goal: '<=1.3',
      },
      {
        bench: 'bundle-verify-50mb-file',
        metric: 'time_ratio',
        value: round(fileRatio),
        unit: 'ratio',
        baseline: 'node:crypto SHA-256 streamed from the same file',
        goal: '<=1.3',
      },
      {
        bench: 'bundle-verify-50mb',
        metric: 'verify_ms',
        value: round(median(memVerify), 1),
        unit: 'ms',
        baseline: 'none (plain figure)',
        goal: '',
      },
      {
        bench: 'bundle-ed25519-verify',
        metric: 'node_crypto_us',
        value: round(nodeUs, 1),
        unit: 'µs',
        baseline: 'none (plain figure)',
        goal: '',
      },
      {
        bench: 'bundle-ed25519-verify',
        metric: 'tweetnacl_us',
        value: round(tweetUs, 0),
        unit: 'µs',
        baseline: 'none (plain figure)',
        goal: '',
      },
      {
        bench: 'bundle-ed25519-verify',
        metric: 'speedup',
        value: round(tweetUs / nodeUs, 1),
        unit: 'ratio',
        baseline: 'tweetnacl verify time / node:crypto verify time',
        goal: '',
      },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
