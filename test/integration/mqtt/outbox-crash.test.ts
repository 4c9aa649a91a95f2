// Crash consistency of the outbox (issue 7): a child process works the outbox flat out and is
// SIGKILLed at a random moment, dozens of times over the same file. After every kill the file must
// open cleanly, pass SQLite's integrity check, hold every entry whose enqueue was reported and not
// since reported delivered or evicted (save what the single in-doubt operation explains), hold
// nothing reported gone, never reuse a sequence number, and keep its counters consistent.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../../monitor/outbox/index.ts';
import { CRASH_OUTBOX_OPTIONS, crashPayloadOk } from './outbox-crash-shared.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'outbox-crash-child.ts');
const LANES = 3;
const KILLS_PER_LANE = 12;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-outbox-crash-'));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Model {
  present: Set<number>;
  gone: Set<number>;
  maxSeq: number;
  evicted: number;
  delivered: number;
  lastBirth: number;
}

type Intent =
  { kind: 'enqueue' } | { kind: 'ack'; seq: number } | { kind: 'birth' } | { kind: 'sweep' } | null;

/** Runs one child until a random kill point; returns its complete stdout lines and the open intent. */
async function runChild(file: string, seed: number, killAfterMs: number): Promise<{ lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, String(seed)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const deadline = Date.now() + 20_000;
  while (!out.includes('ready\n')) {
    if (child.exitCode !== null) throw new Error(`child exited before ready: ${err}`);
    if (Date.now() > deadline) throw new Error('child not ready after 20 s');
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, killAfterMs));
  if (child.exitCode !== null) throw new Error(`child died by itself: ${err}`);
  child.kill('SIGKILL');
  await exited;
  // A partial last line was cut by the kill: the operation it reports counts as in doubt.
  const lines = out.split('\n');
  lines.pop();
  return { lines };
}

function applyLines(model: Model, lines: readonly string[]): Intent {
  let intent: Intent = null;
  for (const line of lines) {
    const [tag, a, b, c] = line.split(' ');
    if (tag === 'intent') {
      intent = a === 'ack' ? { kind: 'ack', seq: Number(b) } : { kind: a as 'enqueue' | 'birth' | 'sweep' };
    } else if (tag === 'E') {
      const seq = Number(a);
      model.maxSeq = Math.max(model.maxSeq, seq);
      if (b === '1') model.present.add(seq);
      else {
        model.gone.add(seq);
        model.evicted += 1;
      }
      for (const v of (c ?? '').split(',').filter(Boolean).map(Number)) {
        if (v === seq) continue;
        model.present.delete(v);
        model.gone.add(v);
        model.evicted += 1;
      }
    } else if (tag === 'done') {
      intent = null;
    } else if (tag === 'A') {
      const seq = Number(a);
      if (model.present.delete(seq)) model.delivered += 1;
      model.gone.add(seq);
      intent = null;
    } else if (tag === 'B') {
      model.lastBirth = Number(a);
      intent = null;
    } else if (tag === 'S') {
      for (const v of (a ?? '').split(',').filter(Boolean).map(Number)) {
        model.present.delete(v);
        model.gone.add(v);
        model.evicted += 1;
      }
      intent = null;
    }
  }
  return intent;
}

function checkAndReconcile(file: string, model: Model, intent: Intent): void {
  const box = Outbox.open(file, CRASH_OUTBOX_OPTIONS);
  try {
    expect(box.integrityCheck()).toBe('ok');
    const entries = box.pending(0, 1_000_000);
    const held = new Set(entries.map((e) => e.seq));
    for (const e of entries) expect(crashPayloadOk(e.seq, e.payload)).toBe(true);
    const stats = box.stats();
    // Counters are consistent with each other and with the rows.
    expect(stats.written).toBe(stats.delivered + stats.evicted + stats.pending);
    expect(stats.pending).toBe(held.size);
    expect(stats.pendingBytes).toBe(entries.reduce((n, e) => n + e.payload.length, 0));
    expect(stats.pendingBytes).toBeLessThanOrEqual(CRASH_OUTBOX_OPTIONS.outboxMaxBytes);
    // Nothing reported gone is back; nothing unreported is older than the last reported sequence.
    for (const seq of held) {
      expect(model.gone.has(seq)).toBe(false);
      if (!model.present.has(seq)) expect(seq).toBeGreaterThan(model.maxSeq);
    }
    // Sequence numbers are never reused.
    expect(stats.nextSeq).toBeGreaterThan(Math.max(model.maxSeq, ...held));
    // Everything reported stored and not reported gone is still here, except what the one
    // in-doubt operation may have removed: its own ack, or evictions the counters account for.
    const missing = [...model.present].filter((s) => !held.has(s));
    if (intent?.kind === 'ack') {
      for (const s of missing) expect(s).toBe(intent.seq);
    } else if (intent?.kind === 'enqueue' || intent?.kind === 'sweep') {
      expect(missing.length).toBeLessThanOrEqual(stats.evicted - model.evicted);
    } else {
      expect(missing).toEqual([]);
    }
    expect(stats.delivered).toBeGreaterThanOrEqual(model.delivered);
    expect(box.nextBirthSequence()).toBeGreaterThan(model.lastBirth);
    // Reconcile: the file is the truth from here on.
    for (const s of missing) model.gone.add(s);
    model.present = held;
    model.maxSeq = stats.nextSeq - 1;
    model.evicted = stats.evicted;
    model.delivered = stats.delivered;
    model.lastBirth += 1;
  } finally {
    box.close();
  }
}

describe('outbox crash consistency under SIGKILL', () => {
  it(`survives ${LANES * KILLS_PER_LANE} random kill points`, async () => {
    const figures = await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        const file = path.join(dir, `lane-${lane}.db`);
        const model: Model = {
          present: new Set(),
          gone: new Set(),
          maxSeq: 0,
          evicted: 0,
          delivered: 0,
          lastBirth: 0,
        };
        let inDoubt = 0;
        for (let round = 0; round < KILLS_PER_LANE; round += 1) {
          const killAfterMs = 5 + Math.floor(Math.random() * 120);
          const { lines } = await runChild(file, lane * 1000 + round, killAfterMs);
          const intent = applyLines(model, lines);
          if (intent) inDoubt += 1;
          checkAndReconcile(file, model, intent);
        }
        return { maxSeq: model.maxSeq, evicted: model.evicted, delivered: model.delivered, inDoubt };
      }),
    );
    // The children did real work between kills.
    for (const f of figures) {
      expect(f.maxSeq).toBeGreaterThan(100);
      expect(f.evicted).toBeGreaterThan(0);
      expect(f.delivered).toBeGreaterThan(0);
    }
    console.log(`[outbox crash] ${JSON.stringify(figures)}`);
  });
});
