// The device runtime behind the bridge: the pipeline, the results the firmware receives, and the
// join of delayed labels onto recent results (forwarded to observers such as the drift monitor).
import type {
  AlertEvent,
  DeviceRuntimeApi,
  LabelOutcome,
  LabelSubmission,
  ModelStatus,
  RuntimeStatus,
} from './api.ts';
import type { Pipeline } from './pipeline/pipeline.ts';
import type { WindowResult } from './pipeline/result.ts';
import type { SamplesFrame, StreamSpec } from './pipeline/types.ts';
import { RUNTIME_VERSION } from './version.ts';

export interface LabelObserver {
  onLabel(result: WindowResult, label: LabelSubmission): void;
}

export interface DeviceRuntimeOptions {
  readonly deviceId: string;
  /** How many recent results stay joinable by a label (bounded memory). */
  readonly labelJoinCapacity: number;
  readonly frozen: () => boolean;
}

export class DeviceRuntime implements DeviceRuntimeApi {
  readonly deviceId: string;
  private readonly resultListeners = new Set<(result: WindowResult) => void>();
  private readonly alertListeners = new Set<(alert: AlertEvent) => void>();
  private readonly labelObservers = new Set<LabelObserver>();
  /** Insertion-ordered: the oldest entries are evicted first. */
  private readonly recent = new Map<string, { result: WindowResult; labelled: boolean }>();

  constructor(
    private readonly pipeline: Pipeline,
    private readonly options: DeviceRuntimeOptions,
  ) {
    this.deviceId = options.deviceId;
    pipeline.onResult((result) => {
      this.remember(result);
      for (const listener of this.resultListeners) listener(result);
    });
  }

  /** Called by whoever owns the pipeline observer for alert events. */
  publishAlert(alert: AlertEvent): void {
    for (const listener of this.alertListeners) listener(alert);
  }

  addLabelObserver(observer: LabelObserver): void {
    this.labelObservers.add(observer);
  }

  openStream(spec: StreamSpec): void {
    this.pipeline.openStream(spec);
  }

  closeStream(streamId: string): void {
    this.pipeline.closeStream(streamId);
  }

  pushSamples(frame: SamplesFrame): number {
    return this.pipeline.push(frame);
  }

  onResult(listener: (result: WindowResult) => void): () => void {
    this.resultListeners.add(listener);
    return () => this.resultListeners.delete(listener);
  }

  onAlert(listener: (alert: AlertEvent) => void): () => void {
    this.alertListeners.add(listener);
    return () => this.alertListeners.delete(listener);
  }

  submitLabel(label: LabelSubmission): LabelOutcome {
    const entry = this.recent.get(label.resultId);
    if (!entry) return { kind: 'unknown-result' };
    if (entry.labelled) return { kind: 'duplicate' };
    entry.labelled = true;
    for (const observer of this.labelObservers) observer.onLabel(entry.result, label);
    return { kind: 'accepted' };
  }

  status(): RuntimeStatus {
    const models: ModelStatus[] = [];
    for (const family of this.pipeline.familyNames()) {
      const runners = this.pipeline.family(family);
      if (!runners) continue;
      const manifest = runners.active.model.manifest;
      models.push({
        modelFamily: family,
        bundleId: manifest.bundleId,
        version: manifest.version,
        sequence: manifest.sequence,
        sensor: manifest.input.sensor,
        backend: runners.active.model.backend,
        candidateBundleId: runners.shadow?.model.manifest.bundleId ?? null,
      });
    }
    return {
      deviceId: this.deviceId,
      runtimeVersion: RUNTIME_VERSION,
      models,
      openStreams: this.pipeline.openStreams,
      frozen: this.options.frozen(),
    };
  }

  drain(): Promise<void> {
    return this.pipeline.drain();
  }

  private remember(result: WindowResult): void {
    this.recent.set(result.resultId, { result, labelled: false });
    while (this.recent.size > this.options.labelJoinCapacity) {
      const oldest = this.recent.keys().next();
      if (oldest.done === true) break;
      this.recent.delete(oldest.value);
    }
  }
}
