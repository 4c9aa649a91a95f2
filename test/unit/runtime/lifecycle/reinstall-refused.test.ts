// Review finding 6: a revoked or failed bundle pushed again must be reported as rejected (with its
// code), never as "installed" — installStaged used to map the pre-verification `duplicate` to installed.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Lifecycle } from '../../../../runtime/lifecycle/index.ts';
import { tempDir } from '../../../fixtures/bundles/kit.ts';
import {
  Clock,
  FAMILY,
  INFERENCE_ERROR,
  OK,
  bundle,
  command,
  openLifecycle,
  result,
  tempDataDir,
} from './helpers.ts';

let b1: string;
let b2: string;
const opened: Lifecycle[] = [];

beforeAll(async () => {
  const dir = tempDir('vigil-reinstall-');
  b1 = await bundle(1, { dir, rollout: { probation: { windows: 1 } } });
  b2 = await bundle(2, { dir });
});

afterEach(async () => {
  for (const l of opened.splice(0)) await l.close().catch(() => undefined);
});

async function open(clock: Clock): Promise<Lifecycle> {
  const l = await openLifecycle(tempDataDir(), clock);
  opened.push(l);
  return l;
}

function lastRejection(l: Lifecycle): Record<string, unknown> | undefined {
  return [...l.audit.records()].filter((r) => r.kind === 'bundle-rejected').at(-1)?.payload;
}

describe('a bundle sent again after it was revoked or failed', () => {
  it('is rejected with REVOKED_BUNDLE when the device revoked it', async () => {
    const clock = new Clock();
    const l = await open(clock);
    const first = await l.install(b1);
    if (first.kind !== 'activated') throw new Error(first.kind);
    const sha = first.bundle.manifestSha256;
    const revoke = command({ kind: 'revoke', bundle: { by: 'manifest', manifestSha256: sha } }, clock);
    expect((await l.applyCommand(revoke)).kind).toBe('accepted');
    expect(l.bundle(sha)?.state).toBe('revoked');

    const again = await l.installStaged(b1, 'aa'.repeat(16));
    expect(again).toMatchObject({ kind: 'rejected', code: 'REVOKED_BUNDLE' });
    expect(lastRejection(l)).toMatchObject({ code: 'REVOKED_BUNDLE', transferId: 'aa'.repeat(16) });
    const local = await l.install(b1);
    expect(local).toMatchObject({ kind: 'rejected', code: 'REVOKED_BUNDLE' });
    // Nothing changed: the family still answers with its declared fallback.
    expect(l.servingPlans()[0]?.active?.override?.reason).toBe('MODEL_REVOKED');
    expect(l.bundle(sha)?.state).toBe('revoked');
  });

  it('is rejected with NOT_USABLE when it failed its probation here', async () => {
    const clock = new Clock();
    const l = await open(clock);
    const first = await l.install(b1);
    if (first.kind !== 'activated') throw new Error(first.kind);
    l.observeResult(result(first.bundle.manifestSha256, OK));
    await l.idle();
    const second = await l.install(b2);
    if (second.kind !== 'shadow') throw new Error(second.kind);
    const sha2 = second.bundle.manifestSha256;
    const promote = command({ kind: 'promote', family: FAMILY, bundle: sha2, force: true }, clock);
    expect((await l.applyCommand(promote)).kind).toBe('accepted');
    l.observeResult(result(sha2, INFERENCE_ERROR));
    await l.idle();
    expect(l.bundle(sha2)?.state).toBe('failed');

    const again = await l.installStaged(b2, 'bb'.repeat(16));
    expect(again).toMatchObject({ kind: 'rejected', code: 'NOT_USABLE' });
    expect(lastRejection(l)).toMatchObject({ code: 'NOT_USABLE' });
    expect(l.servingPlans()[0]?.active?.bundle.manifestSha256).toBe(first.bundle.manifestSha256);
  });

  it('is still a duplicate while it is installed (a transfer handed over again after a crash)', async () => {
    const l = await open(new Clock());
    expect((await l.install(b1)).kind).toBe('activated');
    expect(await l.installStaged(b1, 'cc'.repeat(16))).toEqual({ kind: 'installed' });
    expect(lastRejection(l)).toBeUndefined();
  });
});
