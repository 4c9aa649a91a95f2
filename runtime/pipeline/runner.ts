// One approved model at work: quality gate → preprocessing → OOD → batched inference → thresholds,
// with the manifest's declared fallback whenever the model must not be trusted (DESIGN.md,
// "Inference path"). Per-stream post-processing state and fallback episodes live here.
import type { FallbackPolicy, Manifest } from '../../models/format/manifest.ts';
import type { MicroBatcher } from '../inference/batcher.ts';
import type { BackendKind } from '../inference/backend.ts';
import type { FeatureExtractor, FeatureReference } from './features.ts';
import type { PipelineObserver } from './observer.ts';
import { checkOod } from './ood.ts';
import { decide, initialPostprocessState, interrupt, type PostprocessState } from './postprocess.ts';
import { checkRawWindow, rejectMask, type QualityVerdict } from './quality.ts';
import type {
  FallbackOutput,
  FallbackReason,
  ResultProvenance,
  ResultStatus,
  WindowResult,
} from './result.ts';
import { evaluateRule, RuleEvaluationError } from './rule.ts';
import type { Window } from './types.ts';

/** Everything a runner needs about one verified bundle. */
export interface LoadedModel {
  readonly manifest: Manifest;
  readonly manifestSha256: string;
  readonly backend: BackendKind;
  readonly extractor: FeatureExtractor;
  readonly reference: FeatureReference | null;
  readonly batcher: MicroBatcher;
  /** Extra quality checks that need derived signals (SQIs, motion gating); pass when absent. */
  readonly extraQuality?: (window: Window) => QualityVerdict;
}

export interface RunnerOptions {
  readonly runtimeVersion: string;
  readonly inferenceDeadlineMs: number;
  readonly monoNow: () => number;
  /** Shadow runners produce results that never reach the firmware. */
  readonly shadow: boolean;
}

interface StreamModelState {
  readonly post: PostprocessState;
  episode: { reason: FallbackReason; startMs: number; windows: number } | null;
}

export interface RunnerOutput {
  readonly result: WindowResult;
  readonly features: Float64Array | null;
}

export class ModelRunner {
  readonly provenance: ResultProvenance;
  private readonly mask: number;
  private readonly streams = new Map<string, StreamModelState>();
  private override: { reason: FallbackReason; detail: string } | null = null;

  constructor(
    readonly model: LoadedModel,
    private readonly options: RunnerOptions,
    private readonly observer: PipelineObserver,
  ) {
    const m = model.manifest;
    this.mask = rejectMask(m.quality);
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

  forgetStream(streamId: string): void {
    const state = this.streams.get(streamId);
    if (state?.episode) this.endEpisode(streamId, state, state.episode.startMs);
    this.streams.delete(streamId);
  }

  async process(window: Window): Promise<RunnerOutput> {
    const state = this.stateOf(window.streamId);
    const manifest = this.model.manifest;
    if (this.override) return this.fallback(window, state, this.override.reason, this.override.detail, null);

    const raw = checkRawWindow(window, manifest.input, manifest.quality, this.mask);
    if (raw.kind === 'fail') return this.fallback(window, state, raw.reason, raw.detail, null);
    const extra = this.model.extraQuality?.(window) ?? { kind: 'pass' };
    if (extra.kind === 'fail') return this.fallback(window, state, extra.reason, extra.detail, null);

    const outcome = this.model.extractor.extract(window);
    if (outcome.kind === 'invalid')
      return this.fallback(window, state, 'FEATURES_INVALID', outcome.detail, null);
    const features = outcome.values;
    if (this.model.reference) {
      const ood = checkOod(features, this.model.reference, manifest.ood);
      if (ood.kind === 'fail')
        return this.fallback(window, state, ood.reason, ood.detail, outcome.named, features);
    }

    const batchOutcome = await this.model.batcher.submit(
      Float32Array.from(features),
      window.completedAtMonoMs + this.options.inferenceDeadlineMs,
    );
    switch (batchOutcome.kind) {
      case 'error':
        return this.fallback(
          window,
          state,
          'INFERENCE_ERROR',
          batchOutcome.error.code,
          outcome.named,
          features,
        );
      case 'deadline-miss':
        return this.fallback(
          window,
          state,
          'DEADLINE_MISS',
          `result not ready within ${this.options.inferenceDeadlineMs} ms`,
          outcome.named,
          features,
        );
      case 'score':
        break;
    }
    const score = batchOutcome.score;
    if (!Number.isFinite(score) || score < 0 || score > 1) {
      return this.fallback(
        window,
        state,
        'INFERENCE_ERROR',
        `model emitted ${score}`,
        outcome.named,
        features,
      );
    }
    if (state.episode) this.endEpisode(window.streamId, state, window.startMs);
    const decision = decide(score, window.endMs, manifest.thresholds, manifest.postprocessing, state.post);
    let status: ResultStatus;
    switch (decision.kind) {
      case 'indeterminate':
        status = { kind: 'indeterminate', score, reason: 'SCORE_BAND' };
        break;
      case 'decided':
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
      this.observer.onEvent?.({
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
    this.observer.onResult?.(result, features, window);
    return { result, features };
  }

  private stateOf(streamId: string): StreamModelState {
    let state = this.streams.get(streamId);
    if (!state) {
      state = { post: initialPostprocessState(), episode: null };
      this.streams.set(streamId, state);
    }
    return state;
  }

  private fallback(
    window: Window,
    state: StreamModelState,
    reason: FallbackReason,
    detail: string,
    named: ReadonlyMap<string, number> | null,
    features: Float64Array | null = null,
  ): RunnerOutput {
    interrupt(state.post);
    this.trackEpisode(window, state, reason);
    const output = this.fallbackOutput(this.model.manifest.fallback, named);
    const result = this.result(window, { kind: 'fallback', reason, detail, output });
    if (output.kind === 'rule' && output.positive && !this.options.shadow) {
      this.observer.onEvent?.({
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
    this.observer.onResult?.(result, features, window);
    return { result, features };
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

  /** Fallback episodes are logged at their start and end, not every window (issue 4). */
  private trackEpisode(window: Window, state: StreamModelState, reason: FallbackReason): void {
    if (state.episode && state.episode.reason !== reason)
      this.endEpisode(window.streamId, state, window.startMs);
    if (!state.episode) {
      state.episode = { reason, startMs: window.startMs, windows: 0 };
      this.observer.onEvent?.({
        kind: 'fallback-episode-start',
        streamId: window.streamId,
        modelFamily: this.model.manifest.modelFamily,
        bundleId: this.model.manifest.bundleId,
        reason,
        atMs: window.startMs,
      });
    }
    state.episode.windows += 1;
  }

  private endEpisode(streamId: string, state: StreamModelState, endMs: number): void {
    const episode = state.episode;
    if (!episode) return;
    state.episode = null;
    this.observer.onEvent?.({
      kind: 'fallback-episode-end',
      streamId,
      modelFamily: this.model.manifest.modelFamily,
      bundleId: this.model.manifest.bundleId,
      reason: episode.reason,
      startMs: episode.startMs,
      endMs,
      windows: episode.windows,
    });
  }

  private result(window: Window, status: ResultStatus): WindowResult {
    return {
      resultId: `${window.streamId}:${window.index}:${this.model.manifest.modelFamily}`,
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
      latencyMs: this.options.monoNow() - window.completedAtMonoMs,
      shadow: this.options.shadow,
    };
  }
}
