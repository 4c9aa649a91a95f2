// One approved model at work: quality gate → motion gate → SQIs → preprocessing → OOD → batched
// inference → thresholds, with the manifest's declared fallback whenever the model must not be
// trusted (DESIGN.md, "Inference path"). Per-stream post-processing state, fallback episodes and the
// runner's counters live here.
import type { FallbackPolicy, Manifest } from '../../models/format/manifest.ts';
import type { MicroBatcher } from '../inference/batcher.ts';
import type { BackendKind } from '../inference/backend.ts';
import type { FeatureExtractor, FeatureOutcome, FeatureReference } from './features.ts';
import { MIN_MOTION_COVERAGE, needsMotion, type ActivityWindow } from './motion.ts';
import type { PipelineEvent, PipelineObserver } from './observer.ts';
import { checkOod } from './ood.ts';
import { decide, initialPostprocessState, interrupt, type PostprocessState } from './postprocess.ts';
import { checkRawWindow, rejectMask, type QualityVerdict } from './quality.ts';
import {
  resultIdOf,
  type FallbackOutput,
  type FallbackReason,
  type ResultProvenance,
  type ResultStatus,
  type WindowResult,
} from './result.ts';
import { evaluateRule, RuleEvaluationError } from './rule.ts';
import { LatencyHistogram, type RunnerStats } from './stats.ts';
import type { Window } from './types.ts';

/** Everything a runner needs about one verified bundle. */
export interface LoadedModel {
  readonly manifest: Manifest;
  readonly manifestSha256: string;
  readonly backend: BackendKind;
  readonly extractor: FeatureExtractor;
  readonly reference: FeatureReference | null;
  readonly batcher: MicroBatcher;
  /** Extra quality checks that need derived signals (SQIs); pass when absent. */
  readonly extraQuality?: (window: Window) => QualityVerdict;
}

export interface RunnerOptions {
  readonly runtimeVersion: string;
  readonly inferenceDeadlineMs: number;
  readonly monoNow: () => number;
  /** Shadow runners produce results that never reach the firmware. */
  readonly shadow: boolean;
}

/** What the pipeline knows about a window beyond its samples. */
export interface WindowContext {
  /** The device's accelerometer activity over the window's span; null when none covers it. */
  readonly motion?: ActivityWindow | null;
  /** When the context was complete (monotonic ms): the inference deadline runs from here. */
  readonly readyAtMonoMs?: number;
}

interface Episode {
  /** Reason of the first window of the episode. */
  readonly reason: FallbackReason;
  readonly startMs: number;
  windows: number;
  readonly reasons: Partial<Record<FallbackReason, number>>;
}

interface StreamModelState {
  readonly post: PostprocessState;
  episode: Episode | null;
  /** Settles when the stream's latest window has been decided: windows are decided in order. */
  decided: Promise<void>;
}

/** What a window's evaluation found, before the stream's post-processing state is touched. */
type Verdict =
  | {
      readonly kind: 'fallback';
      readonly reason: FallbackReason;
      readonly detail: string;
      readonly named: ReadonlyMap<string, number> | null;
      readonly features: Float64Array | null;
    }
  | {
      readonly kind: 'score';
      readonly score: number;
      readonly named: ReadonlyMap<string, number>;
      readonly features: Float64Array;
    };

export interface RunnerOutput {
  readonly result: WindowResult;
  readonly features: Float64Array | null;
  /**
   * What the window raised, in order (fallback episode start/end, alerts). The runner never calls
   * its observer while processing: the pipeline does, after the result is out, each call guarded,
   * so that no observer can delay or silence a result (docs/pipeline.md "Delivery").
   */
  readonly events: readonly PipelineEvent[];
}

export class ModelRunner {
  readonly provenance: ResultProvenance;
  /** Whether the quality policy gates windows by the device's accelerometer. */
  readonly needsMotion: boolean;
  private readonly mask: number;
  private readonly streams = new Map<string, StreamModelState>();
  private override: { reason: FallbackReason; detail: string } | null = null;
  private readonly counts = {
    windows: 0,
    ok: 0,
    indeterminate: 0,
    fallback: 0,
    alerts: 0,
    ruleAlerts: 0,
  };
  private readonly byReason: Partial<Record<FallbackReason, number>> = {};
  private readonly latency = new LatencyHistogram();
  private openEpisodes = 0;

  constructor(
    readonly model: LoadedModel,
    private readonly options: RunnerOptions,
    /** Told about every result and event by the pipeline (never from inside process()). */
    readonly observer: PipelineObserver,
  ) {
    const m = model.manifest;
    this.mask = rejectMask(m.quality);
    this.needsMotion = needsMotion(m);
    this.provenance = Object.freeze({
      bundleId: m.bundleId,
      modelFamily: m.modelFamily,
      modelVersion: m.version,
      sequence: m.sequence,
      manifestSha256: model.manifestSha256,
      thresholdsVersion: m.thresholds.version,
      postprocessingVersion: m.postprocessing.version,
      qualityPolicyVersion: m.quality.version,
      fallbackPolicyVersion: m.fallback.version,
      runtimeVersion: options.runtimeVersion,
      backend: model.backend,
    });
  }

  /**
   * Forces every window to the declared fallback (revoked bundle, or a drift alarm's declared safe
   * action). `null` lifts it.
   */
  setOverride(override: { reason: FallbackReason; detail: string } | null): void {
    this.override = override;
  }

  /** Whether results of this runner never reach the firmware. */
  get shadow(): boolean {
    return this.options.shadow;
  }

  /** The runner's inference deadline (ms from the window's completion). */
  get inferenceDeadlineMs(): number {
    return this.options.inferenceDeadlineMs;
  }

  /**
   * Ends the stream's fallback episode (if any) and drops its state. Returns the episode's end
   * event for the caller to hand to the observer.
   */
  forgetStream(streamId: string): readonly PipelineEvent[] {
    const state = this.streams.get(streamId);
    const events: PipelineEvent[] = [];
    if (state?.episode) this.endEpisode(streamId, state, state.episode.startMs, events);
    this.streams.delete(streamId);
    return events;
  }

  /**
   * The runner itself failed on this window (a bug, not bad input): the declared fallback with
   * reason INFERENCE_ERROR, so that the firmware is told "no model output" rather than nothing.
   * Features are not trusted, so a rule fallback gives `suppressed`.
   */
  internalFailure(window: Window, detail: string): RunnerOutput {
    return this.fallback(window, this.stateOf(window.streamId), [], 'INFERENCE_ERROR', detail, null);
  }

  /** Counters for the monitor and rollout health checks. */
  stats(): RunnerStats {
    const m = this.model.manifest;
    return {
      modelFamily: m.modelFamily,
      bundleId: m.bundleId,
      shadow: this.options.shadow,
      ...this.counts,
      fallbackByReason: { ...this.byReason },
      inferenceErrors: this.byReason.INFERENCE_ERROR ?? 0,
      deadlineMisses: this.byReason.DEADLINE_MISS ?? 0,
      openEpisodes: this.openEpisodes,
      latency: this.latency.summary(),
    };
  }

  /**
   * Evaluates a window (quality gate, features, OOD, inference) concurrently with the stream's other
   * windows in flight, then decides it — post-processing runs, refractory, episodes — strictly in
   * window order: a window that fails its quality gate at once does not overtake an earlier one still
   * waiting for inference, so the alert rule does not depend on how firmware frames its samples, and a
   * replay one window at a time gives the same decisions.
   */
  async process(window: Window, context: WindowContext = {}): Promise<RunnerOutput> {
    const state = this.stateOf(window.streamId);
    this.counts.windows += 1;
    const verdict = this.evaluate(window, context);
    const earlier = state.decided;
    const decided = (async () => {
      const found = await verdict;
      await earlier;
      return this.decideWindow(window, state, found);
    })();
    state.decided = decided.then(
      () => undefined,
      () => undefined,
    );
    return decided;
  }

  /** Everything about one window that needs no stream state: gate, features, OOD, inference. */
  private async evaluate(window: Window, context: WindowContext): Promise<Verdict> {
    const manifest = this.model.manifest;
    const gate = this.gate(window, context);
    if (gate.kind === 'fail') {
      return { kind: 'fallback', reason: gate.reason, detail: gate.detail, named: null, features: null };
    }
    const features = gate.values;
    const named = gate.named;
    // Overridden (revoked, suppressed): no inference; the rule still gets trustworthy features.
    if (this.override) {
      const { reason, detail } = this.override;
      return { kind: 'fallback', reason, detail, named, features };
    }
    if (this.model.reference) {
      const ood = checkOod(features, this.model.reference, manifest.ood);
      if (ood.kind === 'fail')
        return { kind: 'fallback', reason: ood.reason, detail: ood.detail, named, features };
    }
    const startMono = Math.max(window.completedAtMonoMs, context.readyAtMonoMs ?? 0);
    const outcome = await this.model.batcher.submit(features, startMono + this.options.inferenceDeadlineMs);
    switch (outcome.kind) {
      case 'error':
        return { kind: 'fallback', reason: 'INFERENCE_ERROR', detail: outcome.error.code, named, features };
      case 'deadline-miss':
        return {
          kind: 'fallback',
          reason: 'DEADLINE_MISS',
          detail: `result not ready within ${this.options.inferenceDeadlineMs} ms`,
          named,
          features,
        };
      case 'score':
        break;
    }
    const score = outcome.score;
    if (!Number.isFinite(score) || score < 0 || score > 1) {
      return {
        kind: 'fallback',
        reason: 'INFERENCE_ERROR',
        detail: `model emitted ${score}`,
        named,
        features,
      };
    }
    return { kind: 'score', score, named, features };
  }

  /** Decides a window in stream order: the override in force *now* wins over what evaluation found. */
  private decideWindow(window: Window, state: StreamModelState, verdict: Verdict): RunnerOutput {
    const manifest = this.model.manifest;
    const events: PipelineEvent[] = [];
    // An override (revoked bundle, drift safe action) wins, also over a score computed before it was
    // set (a window in flight when the bundle was revoked is not a normal result).
    if (this.override) {
      return this.fallback(
        window,
        state,
        events,
        this.override.reason,
        this.override.detail,
        verdict.named,
        verdict.features,
      );
    }
    if (verdict.kind === 'fallback') {
      return this.fallback(
        window,
        state,
        events,
        verdict.reason,
        verdict.detail,
        verdict.named,
        verdict.features,
      );
    }
    const { score, features } = verdict;
    if (state.episode) this.endEpisode(window.streamId, state, window.startMs, events);
    const decision = decide(score, window.endMs, manifest.thresholds, manifest.postprocessing, state.post);
    let status: ResultStatus;
    switch (decision.kind) {
      case 'indeterminate':
        this.counts.indeterminate += 1;
        status = { kind: 'indeterminate', score, reason: 'SCORE_BAND' };
        break;
      case 'decided':
        this.counts.ok += 1;
        status = {
          kind: 'ok',
          score,
          positive: decision.positive,
          label: decision.positive ? manifest.output.positive.name : manifest.output.negative.name,
          alert: decision.alert,
        };
        break;
    }
    const result = this.result(window, status);
    if (status.kind === 'ok' && status.alert && !this.options.shadow) {
      this.counts.alerts += 1;
      events.push({
        kind: 'alert',
        resultId: result.resultId,
        streamId: window.streamId,
        modelFamily: manifest.modelFamily,
        bundleId: manifest.bundleId,
        label: status.label,
        atMs: window.endMs,
        source: 'model',
      });
    }
    return { result, features, events };
  }

  /** Raw gate → motion gate → SQIs → preprocessing; the first failure wins. */
  private gate(
    window: Window,
    context: WindowContext,
  ): Extract<FeatureOutcome, { kind: 'features' }> | Extract<QualityVerdict, { kind: 'fail' }> {
    const manifest = this.model.manifest;
    const raw = checkRawWindow(window, manifest.input, manifest.quality, this.mask);
    if (raw.kind === 'fail') return raw;
    if (this.needsMotion) {
      const motion = this.checkMotion(context.motion ?? null);
      if (motion.kind === 'fail') return motion;
    }
    const extra = this.model.extraQuality?.(window);
    if (extra?.kind === 'fail') return extra;
    const outcome = this.model.extractor.extract(window);
    if (outcome.kind === 'invalid')
      return { kind: 'fail', reason: 'FEATURES_INVALID', detail: outcome.detail };
    return outcome;
  }

  private checkMotion(motion: ActivityWindow | null): QualityVerdict {
    const q = this.model.manifest.quality;
    if (
      !motion ||
      !(motion.samples >= MIN_MOTION_COVERAGE * motion.expected) ||
      Number.isNaN(motion.activityG)
    ) {
      return {
        kind: 'fail',
        reason: 'QUALITY_MOTION_UNAVAILABLE',
        detail: motion
          ? `accelerometer ${motion.streamId} covers ${motion.samples} of ${Math.round(motion.expected)} samples of the window`
          : 'no accelerometer stream of this device covers the window',
      };
    }
    const g = motion.activityG;
    if (q.motionGateG !== null && !(g <= q.motionGateG)) {
      return {
        kind: 'fail',
        reason: 'QUALITY_MOTION',
        detail: `activity ${g.toPrecision(3)} g exceeds the motion gate ${q.motionGateG} g`,
      };
    }
    for (const bound of q.sqi) {
      if (bound.name !== 'activity_level_g') continue;
      if ((bound.min !== null && !(g >= bound.min)) || (bound.max !== null && !(g <= bound.max))) {
        return {
          kind: 'fail',
          reason: 'QUALITY_MOTION',
          detail: `activity_level_g = ${g.toPrecision(3)} outside [${bound.min ?? '-∞'}, ${bound.max ?? '∞'}]`,
        };
      }
    }
    return { kind: 'pass' };
  }

  private stateOf(streamId: string): StreamModelState {
    let state = this.streams.get(streamId);
    if (!state) {
      state = { post: initialPostprocessState(), episode: null, decided: Promise.resolve() };
      this.streams.set(streamId, state);
    }
    return state;
  }

  private fallback(
    window: Window,
    state: StreamModelState,
    events: PipelineEvent[],
    reason: FallbackReason,
    detail: string,
    named: ReadonlyMap<string, number> | null,
    features: Float64Array | null = null,
  ): RunnerOutput {
    // The output first: if it fails (a bug), nothing has been counted twice when the pipeline turns
    // the failure into internalFailure().
    const output = this.fallbackOutput(this.model.manifest.fallback, named);
    interrupt(state.post);
    this.counts.fallback += 1;
    this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
    this.trackEpisode(window, state, reason, events);
    const result = this.result(window, { kind: 'fallback', reason, detail, output });
    // A rule finding alerts like the model would, under the same refractory period (one alert per
    // event, whichever source saw it first); it needs no run of windows: the rule is the trigger.
    const post = state.post;
    const ruleAlert =
      output.kind === 'rule' &&
      output.positive &&
      window.endMs - post.lastAlertEndMs >= this.model.manifest.postprocessing.refractoryMs;
    if (ruleAlert) post.lastAlertEndMs = window.endMs;
    if (ruleAlert && !this.options.shadow) {
      this.counts.ruleAlerts += 1;
      events.push({
        kind: 'alert',
        resultId: result.resultId,
        streamId: window.streamId,
        modelFamily: this.model.manifest.modelFamily,
        bundleId: this.model.manifest.bundleId,
        label: output.label,
        atMs: window.endMs,
        source: 'fallback-rule',
      });
    }
    return { result, features, events };
  }

  private fallbackOutput(policy: FallbackPolicy, named: ReadonlyMap<string, number> | null): FallbackOutput {
    switch (policy.kind) {
      case 'suppress':
        return { kind: 'suppressed' };
      case 'alert':
        return { kind: 'quality-alert', message: policy.message };
      case 'rule': {
        if (!named) return { kind: 'suppressed' }; // no features: the rule cannot be evaluated honestly
        try {
          const fired = evaluateRule(policy.rule, named);
          return {
            kind: 'rule',
            ruleVersion: policy.version,
            positive: fired === true,
            label: fired === true ? policy.positiveLabel : 'no-finding',
          };
        } catch (error) {
          if (error instanceof RuleEvaluationError) return { kind: 'suppressed' };
          throw error;
        }
      }
    }
  }

  /**
   * Fallback episodes are logged at their start and end, not every window (issue 4): an episode is
   * a run of consecutive fallback windows of one stream, whatever their reasons (counted per reason
   * in the end event); the first trusted result, or closing the stream, ends it.
   */
  private trackEpisode(
    window: Window,
    state: StreamModelState,
    reason: FallbackReason,
    events: PipelineEvent[],
  ): void {
    if (!state.episode) {
      state.episode = { reason, startMs: window.startMs, windows: 0, reasons: {} };
      this.openEpisodes += 1;
      events.push({
        kind: 'fallback-episode-start',
        streamId: window.streamId,
        modelFamily: this.model.manifest.modelFamily,
        bundleId: this.model.manifest.bundleId,
        reason,
        atMs: window.startMs,
      });
    }
    const episode = state.episode;
    episode.windows += 1;
    episode.reasons[reason] = (episode.reasons[reason] ?? 0) + 1;
  }

  private endEpisode(
    streamId: string,
    state: StreamModelState,
    endMs: number,
    events: PipelineEvent[],
  ): void {
    const episode = state.episode;
    if (!episode) return;
    state.episode = null;
    this.openEpisodes -= 1;
    events.push({
      kind: 'fallback-episode-end',
      streamId,
      modelFamily: this.model.manifest.modelFamily,
      bundleId: this.model.manifest.bundleId,
      reason: episode.reason,
      startMs: episode.startMs,
      endMs,
      windows: episode.windows,
      reasons: episode.reasons,
    });
  }

  private result(window: Window, status: ResultStatus): WindowResult {
    const latencyMs = this.options.monoNow() - window.completedAtMonoMs;
    this.latency.add(latencyMs);
    return {
      resultId: resultIdOf(window, this.model.manifest.modelFamily),
      deviceId: window.deviceId,
      streamId: window.streamId,
      windowIndex: window.index,
      firstCounter: window.firstCounter,
      lastCounter: window.lastCounter,
      startMs: window.startMs,
      endMs: window.endMs,
      cohort: window.cohort,
      status,
      provenance: this.provenance,
      latencyMs,
      shadow: this.options.shadow,
    };
  }
}
