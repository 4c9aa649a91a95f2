// Ed25519 checks of many messages, off the main thread when asked (docs/collector.md "Ingest").
//
// Verification is the collector's dominant cost (≈ 80 µs per node:crypto verify, DESIGN.md), so the
// ingest path splits it out: messages are decoded and checked on the main thread with the normal
// verifiers (monitor/report verifyReport, models/format verifySign1), given an Ed25519 that only
// records what it was asked (after the same well-formedness checks models/format applies); the
// recorded (key, Sig_structure, signature) triples are then verified in batches, in worker threads or
// inline. A message is accepted only when its recorded signature verifies.
import { Worker } from 'node:worker_threads';
import { isCanonicalS, nodeEd25519, type Ed25519 } from '../../models/format/index.ts';

export interface SignatureCheck {
  readonly publicKey: Uint8Array;
  /** The COSE Sig_structure bytes that were signed. */
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SignatureVerifier {
  verify(checks: readonly SignatureCheck[]): Promise<boolean[]>;
  close(): Promise<void>;
}

/** An Ed25519 whose verify() records the triple and answers true for well-formed input. */
export class RecordingEd25519 implements Ed25519 {
  readonly name = 'node:crypto' as const;
  recorded: SignatureCheck | null = null;

  publicKeyFromSeed(): Uint8Array {
    throw new Error('RecordingEd25519 only records verifications');
  }

  sign(): Uint8Array {
    throw new Error('RecordingEd25519 only records verifications');
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (publicKey.length !== 32 || signature.length !== 64 || !isCanonicalS(signature)) return false;
    this.recorded = { publicKey, message, signature };
    return true;
  }
}

export function inlineVerifier(ed25519: Ed25519 = nodeEd25519()): SignatureVerifier {
  return {
    verify: (checks) =>
      Promise.resolve(checks.map((c) => ed25519.verify(c.publicKey, c.message, c.signature))),
    close: () => Promise.resolve(),
  };
}

// The worker is plain CommonJS evaluated from a string: no TypeScript loader is needed in the thread.
// Batch layout (one transferred ArrayBuffer): per check, 32-byte key | 64-byte signature | u32 length
// (little endian) | message. It answers with one byte per check.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const keys = new Map();
function keyOf(raw) {
  const hex = raw.toString('hex');
  let k = keys.get(hex);
  if (k === undefined) {
    k = crypto.createPublicKey({ key: Buffer.concat([PREFIX, raw]), format: 'der', type: 'spki' });
    if (keys.size > 100000) keys.clear();
    keys.set(hex, k);
  }
  return k;
}
parentPort.on('message', ({ id, buffer, count }) => {
  const bytes = Buffer.from(buffer);
  const out = new Uint8Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const key = bytes.subarray(at, at + 32);
    const sig = bytes.subarray(at + 32, at + 96);
    const len = bytes.readUInt32LE(at + 96);
    const msg = bytes.subarray(at + 100, at + 100 + len);
    at += 100 + len;
    try { out[i] = crypto.verify(null, msg, keyOf(key), sig) ? 1 : 0; } catch { out[i] = 0; }
  }
  parentPort.postMessage({ id, result: out }, [out.buffer]);
});
`;

interface Pending {
  readonly resolve: (r: Uint8Array) => void;
  readonly reject: (e: Error) => void;
}

/** A pool of `threads` workers; each batch is split evenly across them. */
export function workerVerifier(threads: number): SignatureVerifier {
  const workers = Array.from({ length: Math.max(1, threads) }, () => {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    return w;
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;
  for (const w of workers) {
    w.on('message', (m: { id: number; result: Uint8Array }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      p?.resolve(m.result);
    });
    w.on('error', (e) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  }

  function run(worker: Worker, checks: readonly SignatureCheck[]): Promise<Uint8Array> {
    let size = 0;
    for (const c of checks) size += 100 + c.message.length;
    const buffer = new ArrayBuffer(size);
    const bytes = new Uint8Array(buffer);
    const view = new DataView(buffer);
    let at = 0;
    for (const c of checks) {
      bytes.set(c.publicKey, at);
      bytes.set(c.signature, at + 32);
      view.setUint32(at + 96, c.message.length, true);
      bytes.set(c.message, at + 100);
      at += 100 + c.message.length;
    }
    const id = nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, buffer, count: checks.length }, [buffer]);
    });
  }

  return {
    async verify(checks) {
      if (closed) throw new Error('the signature verifier is closed');
      if (checks.length === 0) return [];
      const per = Math.ceil(checks.length / workers.length);
      const parts = workers
        .map((w, i) => ({ w, slice: checks.slice(i * per, (i + 1) * per) }))
        .filter((p) => p.slice.length > 0);
      const results = await Promise.all(parts.map((p) => run(p.w, p.slice)));
      const out: boolean[] = [];
      for (const r of results) for (const b of r) out.push(b === 1);
      return out;
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
