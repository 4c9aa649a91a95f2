// Crash safety of the device lifecycle (issue 5; Mender-style "kill the updater in every state"):
// a driver process works the lifecycle API and is SIGKILLed — half the time at a named fault point
// (its N-th pass through install/promote/rollback/revoke/command/prune/probation/freeze commit points),
// half the time after a seeded random delay (during boot, extraction, fsyncs, SQLite commits, audit
// bursts). After every kill the data directory must pass SQLite's integrity check, its audit chain
// must verify and still hold the last acknowledged record (same sequence, same hash), every slot must
// hold one whole bundle whose files re-hash to its signed manifest (old or new, never a mix), and the
// slots must be exactly as last acknowledged unless an operation was in doubt. The next driver boots
// on the same directory and must find no uncommitted bundle directory and no staging leftover.
//
//   node_modules/.bin/vitest run test/crash        (prints the kill points and outcomes)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultPoint } from '../../runtime/lifecycle/index.ts';
import { makeTrust } from '../fixtures/bundles/kit.ts';
import { buildCrashBundles, checkDataDir, type SlotSummary } from './lifecycle-shared.ts';

const DRIVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lifecycle-driver.ts');
const LANES = 2;
const KILLS_PER_LANE = 55;
const SEED = 20_260_115;
const POINTS: readonly FaultPoint[] = [
  'install:copied',
  'install:verified',
  'install:extracted',
  'install:committed',
  'promote:rechecked',
  'promote:committed',
  'rollback:rechecked',
  'rollback:committed',
  'revoke:committed',
  'command:recorded',
  'command:committed',
  'prune:committed',
  'probation:committed',
  'freeze:committed',
];

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-lifecycle-crash-'));
const bundlesDir = path.join(root, 'bundles');
const trustFile = path.join(root, 'trust.cbor');
const epoch = Date.now();

beforeAll(async () => {
  fs.mkdirSync(bundlesDir);
  await buildCrashBundles(bundlesDir);
  fs.writeFileSync(trustFile, makeTrust().bytes);
}, 120_000);

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ack {
  readonly op: string;
  readonly count: number;
  readonly head: string;
  readonly slots: SlotSummary;
}

/** A named fault point's N-th pass; a delay after spawn (boot and recovery); a delay after `ready`. */
type Kill =
  | { readonly mode: 'point'; readonly point: FaultPoint; readonly n: number }
  | { readonly mode: 'timed'; readonly from: 'spawn' | 'ready'; readonly afterMs: number };

interface Outcome {
  readonly kill: string;
  /** during-boot, idle (between operations), old (in-doubt operation left no trace), new (it completed). */
  readonly outcome: 'during-boot' | 'idle' | 'old' | 'new';
  readonly inDoubt: string | null;
}

interface RunResult {
  readonly lines: string[];
  readonly killed: boolean;
  readonly stderr: string;
}

async function runDriver(dataDir: string, seed: number, kill: Kill): Promise<RunResult> {
  const args = [
    '--import',
    'tsx',
    DRIVER,
    dataDir,
    bundlesDir,
    trustFile,
    String(seed),
    kill.mode,
    kill.mode === 'point' ? kill.point : '-',
    kill.mode === 'point' ? String(kill.n) : '0',
    String(epoch),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
  const state = { exited: false };
  void exited.then(() => (state.exited = true));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  if (kill.mode === 'timed') {
    if (kill.from === 'ready') {
      while (!out.includes('ready ') && !state.exited) await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, kill.afterMs));
    child.kill('SIGKILL');
  }
  const { code, signal } = await exited;
  clearTimeout(guard);
  if (signal !== 'SIGKILL' && code !== 0) throw new Error(`driver failed (${code}): ${err}`);
  const lines = out.split('\n');
  lines.pop(); // a line cut by the kill is not an acknowledgement
  return { lines, killed: signal === 'SIGKILL', stderr: err };
}

async function lane(index: number): Promise<{ kills: number; runs: number; outcomes: Outcome[] }> {
  const dataDir = fs.mkdtempSync(path.join(root, `lane-${index}-`));
  const random = rng(SEED + index);
  const outcomes: Outcome[] = [];
  let lastAck: Ack | null = null;
  let runs = 0;
  let kills = 0;
  while (kills < KILLS_PER_LANE) {
    runs += 1;
    const draw = random();
    const kill: Kill =
      draw < 0.5
        ? {
            mode: 'point',
            point: POINTS[Math.floor(random() * POINTS.length)] ?? 'install:copied',
            n: random() < 0.7 ? 1 : 2,
          }
        : draw < 0.62
          ? { mode: 'timed', from: 'spawn', afterMs: Math.round(100 + random() * 600) }
          : { mode: 'timed', from: 'ready', afterMs: Math.round(random() * 400) };
    const { lines, killed } = await runDriver(dataDir, SEED * 7 + index * 100_000 + runs, kill);
    const ready = lines.find((l) => l.startsWith('ready '));
    if (ready) {
      // What the boot found after the previous kill: recovery removed every uncommitted leftover.
      expect(JSON.parse(ready.slice(6))).toMatchObject({ orphans: 0, staging: 0, chain: 'intact' });
    }
    const acks: Ack[] = [];
    let inDoubt: string | null = null;
    for (const line of lines) {
      if (line.startsWith('intent ')) inDoubt = line.split(' ')[2] ?? null;
      if (line.startsWith('ack ')) {
        const [, , op, json] = line.match(/^ack (\d+) (\S+) (.*)$/) ?? [];
        acks.push({ op: op ?? '?', ...(JSON.parse(json ?? '{}') as Omit<Ack, 'op'>) });
        inDoubt = null;
      }
    }
    const check = await checkDataDir(dataDir);
    expect(check.integrity).toBe('ok');
    expect(check.verdict.kind).toBe('intact');
    expect(check.problems).toEqual([]);
    const runAck = acks.at(-1) ?? null;
    if (runAck) lastAck = runAck;
    if (lastAck) {
      // No acknowledged record lost: the acknowledged head is still there, unchanged.
      expect(check.count).toBeGreaterThanOrEqual(lastAck.count);
      expect(check.hashAt(lastAck.count)).toBe(lastAck.head);
    }
    if (!killed) continue; // a fault point the operations did not reach: not a kill
    kills += 1;
    let outcome: Outcome['outcome'];
    if (!runAck) outcome = 'during-boot';
    else if (inDoubt === null) {
      expect(check.slots).toEqual(runAck.slots);
      outcome = 'idle';
    } else {
      outcome = JSON.stringify(sorted(check.slots)) === JSON.stringify(sorted(runAck.slots)) ? 'old' : 'new';
    }
    outcomes.push({
      kill: kill.mode === 'point' ? `${kill.point}#${kill.n}` : `timed (after ${kill.from})`,
      outcome,
      inDoubt,
    });
  }
  return { kills, runs, outcomes };
}

function sorted(slots: SlotSummary): [string, SlotSummary[string]][] {
  return Object.entries(slots).sort(([a], [b]) => a.localeCompare(b));
}

describe('lifecycle crash safety', () => {
  it('keeps one whole active bundle per family, an intact audit chain and every acknowledged record through ≥ 100 SIGKILLs', async () => {
    const lanes = await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
    const outcomes = lanes.flatMap((l) => l.outcomes);
    const kills = lanes.reduce((s, l) => s + l.kills, 0);
    const runs = lanes.reduce((s, l) => s + l.runs, 0);
    const table = new Map<string, Map<string, number>>();
    for (const o of outcomes) {
      const row = table.get(o.kill) ?? new Map<string, number>();
      row.set(o.outcome, (row.get(o.outcome) ?? 0) + 1);
      table.set(o.kill, row);
    }
    const lines = [
      `lifecycle crash test: ${kills} SIGKILLs over ${runs} driver runs (${LANES} lanes, seed ${SEED})`,
      ...[...table.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(
          ([kill, row]) =>
            `  ${kill.padEnd(24)} ${[...row.entries()].map(([k, n]) => `${k} ${n}`).join(', ')}`,
        ),
      `  in-doubt operations: ${[...new Set(outcomes.flatMap((o) => (o.inDoubt ? [o.inDoubt] : [])))].sort().join(', ')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    expect(kills).toBeGreaterThanOrEqual(100);
    // Both kinds of kill happened, and named points of every operation kind were hit.
    expect(
      outcomes.some((o) => o.kill.startsWith('timed (after ready)') && o.outcome !== 'during-boot'),
    ).toBe(true);
    expect(outcomes.some((o) => o.outcome === 'during-boot')).toBe(true);
    const points = outcomes.filter((o) => !o.kill.startsWith('timed'));
    expect(new Set(points.map((o) => o.kill.split(':')[0])).size).toBeGreaterThanOrEqual(6);
  }, 300_000);
});
