// Black-box replay (`vigil replay EVENT_ID`): the windows pinned to an event are decrypted and run
// again, in window order, through the very bundle each recorded result names (found by its manifest
// digest in the bundle store, files re-hashed as they are read). Each replayed result is compared
// with the recorded one — status kind, fallback reason, and the score's float32 bits — and every
// difference is explained (deadline timing, motion context, post-processing state, versions).
import type { InferenceBackend } from '../inference/backend.ts';
import { loadStagedModel } from '../assemble.ts';
import type { ModelHandle } from '../loader.ts';
import { ModelRunner, type ResultStatus, type Window, type WindowResult } from '../pipeline/index.ts';
import type { BlackBox, PinnedEntry } from '../state/index.ts';
import type { BundleRef } from './types.ts';

export interface ReplayDeps {
  readonly blackBox: BlackBox;
  /** Finds an installed bundle by manifest digest (or a bundle supplied from the release archive). */
  readonly bundle: (manifestSha256: string) => BundleRef | undefined;
  readonly backend: InferenceBackend;
  readonly runtimeVersion: string;
  /** Generous: replay is about the model's answer, not the gateway's timing. */
  readonly inferenceDeadlineMs?: number;
}

export type ReplayVerdict =
  | { readonly kind: 'identical' }
  | { readonly kind: 'different'; readonly explanation: string }
  | { readonly kind: 'not-replayed'; readonly explanation: string };

export interface ReplayedResult {
  readonly resultId: string;
  readonly bundleId: string;
  readonly manifestSha256: string;
  readonly shadow: boolean;
  readonly recorded: StatusSummary;
  readonly replayed: StatusSummary | null;
  readonly verdict: ReplayVerdict;
}

export interface StatusSummary {
  readonly kind: ResultStatus['kind'];
  /** Hex of the score's float32 bits (ok and indeterminate). */
  readonly scoreBits: string | null;
  readonly score: number | null;
  readonly label: string | null;
  readonly alert: boolean | null;
  readonly reason: string | null;
}

export interface ReplayedWindow {
  readonly streamId: string;
  readonly windowIndex: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly results: readonly ReplayedResult[];
}

export interface ReplayReport {
  readonly eventId: string;
  readonly eventKind: string;
  readonly pinnedAtMs: number;
  readonly windows: readonly ReplayedWindow[];
  /** Every replayed result is bit-identical to its recording. */
  readonly identical: boolean;
  readonly counts: { readonly identical: number; readonly different: number; readonly notReplayed: number };
}

export function float32Bits(x: number): string {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  return view.getUint32(0).toString(16).padStart(8, '0');
}

export function summarize(status: ResultStatus): StatusSummary {
  switch (status.kind) {
    case 'ok':
      return {
        kind: 'ok',
        score: status.score,
        scoreBits: float32Bits(status.score),
        label: status.label,
        alert: status.alert,
        reason: null,
      };
    case 'indeterminate':
      return {
        kind: 'indeterminate',
        score: status.score,
        scoreBits: float32Bits(status.score),
        label: null,
        alert: null,
        reason: status.reason,
      };
    case 'fallback':
      return {
        kind: 'fallback',
        score: null,
        scoreBits: null,
        label: null,
        alert: null,
        reason: status.reason,
      };
  }
}

/** Compares a recorded result with its replay and says why they differ, when they do. */
export function compareResults(
  recorded: WindowResult,
  replayed: WindowResult,
  context: { readonly firstWindows: number; readonly runtimeVersion: string },
): ReplayVerdict {
  const a = recorded.status;
  const b = replayed.status;
  const versionNote =
    recorded.provenance.runtimeVersion === context.runtimeVersion
      ? ''
      : ` (recorded by runtime ${recorded.provenance.runtimeVersion}, replayed by ${context.runtimeVersion})`;
  if (
    a.kind === 'fallback' &&
    (a.reason === 'DEADLINE_MISS' || a.reason === 'INFERENCE_ERROR') &&
    b.kind !== 'fallback'
  ) {
    return {
      kind: 'different',
      explanation: `recorded ${a.reason} is about the gateway at that moment (timing or the inference session), not these samples: replayed, the model answers ${b.kind} with score ${b.score} (bits ${float32Bits(b.score)})`,
    };
  }
  if (b.kind === 'fallback' && b.reason === 'QUALITY_MOTION_UNAVAILABLE' && a.kind !== 'fallback') {
    return {
      kind: 'different',
      explanation:
        'the model gates by motion: the accelerometer context of the original window is not part of the recording',
    };
  }
  if (a.kind !== b.kind) {
    return {
      kind: 'different',
      explanation: `recorded ${a.kind}${a.kind === 'fallback' ? ` (${a.reason})` : ''}, replayed ${b.kind}${b.kind === 'fallback' ? ` (${b.reason})` : ''}${versionNote}`,
    };
  }
  if (a.kind === 'fallback' && b.kind === 'fallback') {
    return a.reason === b.reason
      ? { kind: 'identical' }
      : {
          kind: 'different',
          explanation: `fallback reason ${a.reason} recorded, ${b.reason} replayed${versionNote}`,
        };
  }
  if ((a.kind === 'ok' || a.kind === 'indeterminate') && (b.kind === 'ok' || b.kind === 'indeterminate')) {
    if (float32Bits(a.score) !== float32Bits(b.score) || a.score !== b.score) {
      return {
        kind: 'different',
        explanation: `score ${a.score} (bits ${float32Bits(a.score)}) recorded, ${b.score} (bits ${float32Bits(b.score)}) replayed on backend ${replayed.provenance.backend} (recorded on ${recorded.provenance.backend})${versionNote}`,
      };
    }
    if (a.kind === 'ok' && b.kind === 'ok' && (a.label !== b.label || a.alert !== b.alert)) {
      return {
        kind: 'different',
        explanation:
          context.firstWindows > 0
            ? `same score; label/alert differ because post-processing (consecutive windows, hysteresis, refractory period) depends on windows before the first pinned one, which the recording does not hold`
            : `same score; label/alert differ${versionNote}`,
      };
    }
    return { kind: 'identical' };
  }
  return { kind: 'identical' };
}

/** Replays the windows pinned to `eventId`. Throws BlackBoxError NOT_FOUND / DECRYPT_FAILED. */
export async function replayEvent(eventId: string, deps: ReplayDeps): Promise<ReplayReport> {
  const pinned = deps.blackBox.pinned(eventId);
  const handles = new Map<string, Promise<ModelHandle | null>>();
  const runners = new Map<string, ModelRunner>();
  const load = (sha: string): Promise<ModelHandle | null> => {
    let handle = handles.get(sha);
    if (!handle) {
      const ref = deps.bundle(sha);
      handle = ref
        ? loadStagedModel(ref, deps.backend, { maxBatch: 1, batchMaxWaitMs: 0 })
        : Promise.resolve(null);
      handles.set(sha, handle);
    }
    return handle;
  };
  // Runners are per bundle and per stream, fed in window order, so post-processing state evolves as
  // it did on the device from the first pinned window on.
  const runnerFor = async (sha: string, streamId: string): Promise<ModelRunner | null> => {
    const key = `${sha}\u0000${streamId}`;
    const existing = runners.get(key);
    if (existing) return existing;
    const handle = await load(sha);
    if (!handle) return null;
    const runner = new ModelRunner(
      handle.model,
      {
        runtimeVersion: deps.runtimeVersion,
        inferenceDeadlineMs: deps.inferenceDeadlineMs ?? 60_000,
        monoNow: () => performance.now(),
        shadow: true,
      },
      {},
    );
    runners.set(key, runner);
    return runner;
  };
  const ordered = [...pinned].sort(
    (x, y) => x.window.streamId.localeCompare(y.window.streamId) || x.window.index - y.window.index,
  );
  const firstIndex = new Map<string, number>();
  const windows: ReplayedWindow[] = [];
  try {
    for (const entry of ordered) windows.push(await replayWindow(entry, runnerFor, firstIndex, deps));
  } finally {
    for (const handle of handles.values()) await (await handle)?.unload();
  }
  const all = windows.flatMap((w) => w.results);
  const counts = {
    identical: all.filter((r) => r.verdict.kind === 'identical').length,
    different: all.filter((r) => r.verdict.kind === 'different').length,
    notReplayed: all.filter((r) => r.verdict.kind === 'not-replayed').length,
  };
  return {
    eventId,
    eventKind: pinned[0]?.eventKind ?? 'unknown',
    pinnedAtMs: pinned[0]?.pinnedAtMs ?? 0,
    windows,
    identical: all.length > 0 && counts.identical === all.length,
    counts,
  };
}

async function replayWindow(
  entry: PinnedEntry,
  runnerFor: (sha: string, streamId: string) => Promise<ModelRunner | null>,
  firstIndex: Map<string, number>,
  deps: ReplayDeps,
): Promise<ReplayedWindow> {
  const window: Window = { ...entry.window, completedAtMonoMs: performance.now() };
  const results: ReplayedResult[] = [];
  for (const recorded of entry.results) {
    const sha = recorded.provenance.manifestSha256;
    const key = `${sha}\u0000${window.streamId}`;
    if (!firstIndex.has(key)) firstIndex.set(key, window.index);
    const base = {
      resultId: recorded.resultId,
      bundleId: recorded.provenance.bundleId,
      manifestSha256: sha,
      shadow: recorded.shadow,
      recorded: summarize(recorded.status),
    };
    const runner = await runnerFor(sha, window.streamId);
    if (!runner) {
      results.push({
        ...base,
        replayed: null,
        verdict: {
          kind: 'not-replayed',
          explanation: `bundle ${recorded.provenance.bundleId} (${sha.slice(0, 12)}…) is no longer in the bundle store: supply the .vbundle from the release archive`,
        },
      });
      continue;
    }
    const forced =
      recorded.status.kind === 'fallback' &&
      (recorded.status.reason === 'MODEL_REVOKED' || recorded.status.reason === 'OUTPUTS_SUPPRESSED')
        ? { reason: recorded.status.reason, detail: recorded.status.detail }
        : null;
    runner.setOverride(forced);
    const { result } = await runner.process({ ...window, completedAtMonoMs: performance.now() });
    const first = firstIndex.get(key) ?? window.index;
    results.push({
      ...base,
      replayed: summarize(result.status),
      verdict: compareResults(recorded, result, {
        firstWindows: window.index - first < 8 ? 1 : 0,
        runtimeVersion: deps.runtimeVersion,
      }),
    });
  }
  return {
    streamId: window.streamId,
    windowIndex: window.index,
    startMs: window.startMs,
    endMs: window.endMs,
    results,
  };
}
