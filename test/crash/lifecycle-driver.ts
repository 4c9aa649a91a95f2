// The child the lifecycle crash test kills: it opens the device state (recovering from the previous
// kill), reports what it found, then works the lifecycle API with a seeded mix of operations —
// installs, shadow evidence and promotions, probation passes and breaches (automatic rollback), local
// and commanded rollbacks, freezes, revocations, bursts of audit records — printing `intent` before
// and `ack` (with the audit head and the slots) after each, synchronously, so that an acknowledged
// operation is on stdout before anything else happens.
//
//   node --import tsx lifecycle-driver.ts DATA_DIR BUNDLES_DIR TRUST_FILE SEED MODE POINT N EPOCH_MS
//   MODE point: SIGKILLs itself at the N-th hit of fault point POINT;  MODE timed: killed by the parent.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { signerFor } from '../../models/format/index.ts';
import {
  Lifecycle,
  signCommand,
  type CommandBody,
  type FaultPoint,
  type LifecycleStatus,
} from '../../runtime/lifecycle/index.ts';
import type { ResultStatus, WindowResult } from '../../runtime/pipeline/index.ts';
import { KEYS, T0 } from '../fixtures/bundles/kit.ts';
import {
  CRASH_DEVICE,
  CRASH_FAMILIES,
  CRASH_SEQUENCES,
  bundlePath,
  leftovers,
  type SlotSummary,
} from './lifecycle-shared.ts';

const [dataDir, bundlesDir, trustFile, seedText, mode, point, occurrenceText, epochText] =
  process.argv.slice(2);
if (epochText === undefined) throw new Error('usage: DATA_DIR BUNDLES_DIR TRUST SEED MODE POINT N EPOCH');
const epoch = Number(epochText);
const now = () => T0 + (Date.now() - epoch);

function write(line: string): void {
  fs.writeSync(1, `${line}\n`);
}

/** mulberry32: small, seeded, good enough to pick operations. */
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
const random = rng(Number(seedText));
const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];

let hits = 0;
const occurrence = Number(occurrenceText);
const faults =
  mode === 'point'
    ? {
        at(p: FaultPoint): void {
          if (p === point && (hits += 1) === occurrence) process.kill(process.pid, 'SIGKILL');
        },
      }
    : undefined;

const lifecycle = await Lifecycle.open({
  dataDir: dataDir ?? '',
  device: CRASH_DEVICE,
  trust: new Uint8Array(fs.readFileSync(trustFile ?? '')),
  now,
  random: (n) => new Uint8Array(crypto.randomBytes(n)),
  policy: { maxInstalledBundles: 6, keepFailedBundles: 2, probationMinRateWindows: 5 },
  ...(faults ? { faults } : {}),
});

function slots(status: LifecycleStatus): SlotSummary {
  const out: SlotSummary = {};
  for (const f of status.families) {
    out[f.family] = {
      a: f.active?.bundle.manifestSha256.slice(0, 12) ?? null,
      c: f.candidate?.bundle.manifestSha256.slice(0, 12) ?? null,
      l: f.lastKnownGood?.bundle.manifestSha256.slice(0, 12) ?? null,
      m: f.active?.mode.kind ?? null,
    };
  }
  return out;
}

{
  const status = lifecycle.status();
  const left = leftovers(
    dataDir ?? '',
    status.bundles.map((b) => b.manifestSha256),
  );
  write(
    `ready ${JSON.stringify({
      orphans: left.orphans.length,
      staging: left.staging.length,
      chain: lifecycle.audit.verify().kind,
      count: lifecycle.audit.count(),
    })}`,
  );
}

function highestInstalled(family: string): number {
  let highest = 0;
  for (const r of lifecycle.audit.records()) {
    if (r.kind === 'bundle-installed' && r.payload.family === family) {
      highest = Math.max(highest, Number(r.payload.sequence));
    }
  }
  return highest;
}

let serial = 0;
function result(
  family: string,
  sha: string,
  bundleId: string,
  status: ResultStatus,
  shadow = false,
): WindowResult {
  serial += 1;
  return {
    resultId: `s:${serial}:${family}`,
    deviceId: CRASH_DEVICE.deviceId,
    streamId: 's',
    windowIndex: serial,
    firstCounter: 0,
    lastCounter: 1,
    startMs: now(),
    endMs: now(),
    cohort: '',
    status,
    provenance: {
      bundleId,
      modelFamily: family,
      modelVersion: '0',
      sequence: 0,
      manifestSha256: sha,
      thresholdsVersion: '3',
      postprocessingVersion: '2',
      qualityPolicyVersion: '1',
      fallbackPolicyVersion: '1',
      runtimeVersion: '0.1.0',
      backend: 'node',
    },
    latencyMs: 1,
    shadow,
  };
}

const OK: ResultStatus = { kind: 'ok', score: 0.1, label: 'no_fall', positive: false, alert: false };
const ERROR: ResultStatus = {
  kind: 'fallback',
  reason: 'INFERENCE_ERROR',
  detail: 'x',
  output: { kind: 'suppressed' },
};

function command(body: CommandBody): Uint8Array {
  return signCommand(
    {
      ...body,
      target: { fleet: CRASH_DEVICE.fleet, devices: [CRASH_DEVICE.deviceId], cohort: null },
      nonce: new Uint8Array(crypto.randomBytes(16)),
      issuedAtMs: now(),
      expiresAtMs: now() + 3600_000,
      issuer: 'Crash Test <crash@acme.example>',
      reason: 'crash test',
    },
    signerFor(KEYS.release),
  );
}

function passProbation(family: LifecycleStatus['families'][number]): void {
  const active = family.active;
  if (active?.probation.kind !== 'running') return;
  for (let i = 0; i < 20; i += 1) {
    lifecycle.observeResult(result(family.family, active.bundle.manifestSha256, active.bundle.bundleId, OK));
  }
}

type Op =
  | 'install'
  | 'promote'
  | 'pass'
  | 'breach'
  | 'local-rollback'
  | 'command-rollback'
  | 'freeze'
  | 'unfreeze'
  | 'revoke'
  | 'episodes';

function choose(status: LifecycleStatus): Op {
  const weights: [Op, number][] = [
    ['install', 26],
    ['promote', 22],
    ['pass', 8],
    ['breach', 8],
    ['local-rollback', 6],
    ['command-rollback', 4],
    ['freeze', 2],
    ['unfreeze', status.frozen.frozen ? 30 : 1],
    ['revoke', 2],
    ['episodes', 14],
  ];
  const total = weights.reduce((s, [, w]) => s + w, 0);
  let x = random() * total;
  for (const [op, w] of weights) {
    x -= w;
    if (x < 0) return op;
  }
  return 'episodes';
}

async function run(op: Op, status: LifecycleStatus): Promise<string> {
  const family = pick(status.families);
  switch (op) {
    case 'install': {
      const name = pick(CRASH_FAMILIES) ?? CRASH_FAMILIES[0];
      const next = highestInstalled(name) + 1;
      if (next > CRASH_SEQUENCES) return 'no more bundles';
      const outcome = await lifecycle.install(bundlePath(bundlesDir ?? '', name, next));
      return `${name}#${next} ${outcome.kind}${outcome.kind === 'rejected' ? ` ${outcome.code}` : ''}`;
    }
    case 'promote': {
      const f = status.families.find((x) => x.candidate && x.active);
      if (!f?.candidate || !f.active) return 'no candidate';
      passProbation(f);
      await lifecycle.idle();
      const active = f.active.bundle;
      const candidate = f.candidate.bundle;
      for (let i = 0; i < 5; i += 1) {
        lifecycle.observeShadowPair(
          result(f.family, active.manifestSha256, active.bundleId, OK),
          result(f.family, candidate.manifestSha256, candidate.bundleId, OK, true),
        );
      }
      await lifecycle.idle();
      const after = lifecycle.status().families.find((x) => x.family === f.family);
      if (after?.candidate?.bundle.manifestSha256 !== candidate.manifestSha256) return 'promoted by policy';
      const outcome = await lifecycle.applyCommand(
        command({ kind: 'promote', family: f.family, bundle: candidate.manifestSha256, force: false }),
      );
      return `command ${outcome.kind}${outcome.kind === 'rejected' ? ` ${outcome.code}` : ''}`;
    }
    case 'pass':
      if (family) passProbation(family);
      return 'fed';
    case 'breach': {
      const f = status.families.find((x) => x.active?.probation.kind === 'running');
      if (!f?.active) return 'nothing on probation';
      lifecycle.observeResult(
        result(f.family, f.active.bundle.manifestSha256, f.active.bundle.bundleId, ERROR),
      );
      return 'breached';
    }
    case 'local-rollback':
      if (!family) return 'no family';
      return (await lifecycle.rollback(family.family, { reason: 'crash test' })).kind;
    case 'command-rollback':
      if (!family) return 'no family';
      return (await lifecycle.applyCommand(command({ kind: 'rollback', family: family.family }))).kind;
    case 'freeze':
      return (await lifecycle.applyCommand(command({ kind: 'freeze' }))).kind;
    case 'unfreeze':
      return (await lifecycle.applyCommand(command({ kind: 'unfreeze' }))).kind;
    case 'revoke': {
      const victim = pick(status.bundles);
      if (!victim) return 'nothing installed';
      return (
        await lifecycle.applyCommand(
          command({ kind: 'revoke', bundle: { by: 'manifest', manifestSha256: victim.manifestSha256 } }),
        )
      ).kind;
    }
    case 'episodes': {
      const active = family?.active;
      if (!family || !active) return 'no active';
      for (let i = 0; i < 10; i += 1) {
        const base = { streamId: `s${i}`, modelFamily: family.family, bundleId: active.bundle.bundleId };
        lifecycle.recordPipelineEvent({
          kind: 'fallback-episode-start',
          ...base,
          reason: 'QUALITY_FLATLINE',
          atMs: now(),
        });
        lifecycle.recordPipelineEvent({
          kind: 'fallback-episode-end',
          ...base,
          reason: 'QUALITY_FLATLINE',
          startMs: now() - 1000,
          endMs: now(),
          windows: 3,
          reasons: { QUALITY_FLATLINE: 3 },
        });
      }
      return 'recorded';
    }
  }
}

const maxOps = mode === 'point' ? 80 : 400;
for (let op = 0; op < maxOps; op += 1) {
  const status = lifecycle.status();
  const kind = choose(status);
  write(`intent ${op} ${kind}`);
  const detail = await run(kind, status);
  await lifecycle.idle();
  const after = lifecycle.status();
  const head = lifecycle.audit.headCheckpoint();
  write(
    `ack ${op} ${kind} ${JSON.stringify({ detail, count: head.count, head: head.headHash, slots: slots(after), frozen: after.frozen.frozen })}`,
  );
}
await lifecycle.close();
write('done');
