// The stream pipeline of one gateway: streams are opened against the active model of the family that
// consumes their sensor; every completed window goes to that model's runner (and to a shadow
// candidate's, whose results never reach the firmware). Results are delivered to listeners.
import type { SensorKind } from '../../models/format/manifest.ts';
import { PipelineError } from './errors.ts';
import type { PipelineObserver } from './observer.ts';
import type { WindowResult } from './result.ts';
import type { ModelRunner, RunnerOutput } from './runner.ts';
import { StreamWindower, type StreamStats } from './stream.ts';
import type { SamplesFrame, StreamSpec, Window } from './types.ts';

export interface PipelineOptions {
  readonly maxStreams: number;
  readonly monoNow: () => number;
  /** A runner threw (a bug, not bad input): reported, and the window produces no result. */
  readonly onInternalError: (error: unknown, window: Window) => void;
}

/** The runners serving one model family: the active one, and maybe a candidate in shadow. */
export interface FamilyRunners {
  readonly active: ModelRunner;
  readonly shadow: ModelRunner | null;
}

interface OpenStream {
  readonly spec: StreamSpec;
  readonly family: string;
  readonly windower: StreamWindower;
}

export type ResultListener = (result: WindowResult) => void;

/** A pair of results for the same window from the active model and its shadow candidate. */
export type ShadowListener = (active: WindowResult, candidate: WindowResult) => void;

export class Pipeline {
  private readonly families = new Map<string, FamilyRunners>();
  private readonly streams = new Map<string, OpenStream>();
  private readonly listeners = new Set<ResultListener>();
  private readonly shadowListeners = new Set<ShadowListener>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly options: PipelineOptions,
    readonly observer: PipelineObserver = {},
  ) {}

  /** Installs (or replaces) the runners of a family. Open streams keep flowing. */
  setFamily(family: string, runners: FamilyRunners): void {
    const previous = this.families.get(family);
    this.families.set(family, runners);
    if (previous && previous.active !== runners.active) {
      for (const stream of this.streams.values()) {
        if (stream.family === family) previous.active.forgetStream(stream.spec.streamId);
      }
    }
  }

  removeFamily(family: string): void {
    this.families.delete(family);
  }

  familyNames(): string[] {
    return [...this.families.keys()].sort();
  }

  family(family: string): FamilyRunners | undefined {
    return this.families.get(family);
  }

  familyForSensor(sensor: SensorKind): string | undefined {
    for (const [family, runners] of this.families) {
      if (runners.active.model.manifest.input.sensor === sensor) return family;
    }
    return undefined;
  }

  onResult(listener: ResultListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onShadowPair(listener: ShadowListener): () => void {
    this.shadowListeners.add(listener);
    return () => this.shadowListeners.delete(listener);
  }

  openStream(spec: StreamSpec): void {
    if (this.streams.has(spec.streamId)) {
      throw new PipelineError('DUPLICATE_STREAM', `stream ${spec.streamId} is already open`);
    }
    if (this.streams.size >= this.options.maxStreams) {
      throw new PipelineError(
        'TOO_MANY_STREAMS',
        `the gateway serves at most ${this.options.maxStreams} streams`,
      );
    }
    const family = this.familyForSensor(spec.sensor);
    if (family === undefined) {
      throw new PipelineError('NO_MODEL_FOR_SENSOR', `no active model consumes ${spec.sensor} streams`);
    }
    const runners = this.families.get(family) as FamilyRunners;
    const windower = new StreamWindower(spec, runners.active.model.manifest.input, this.options.monoNow);
    this.streams.set(spec.streamId, { spec, family, windower });
  }

  closeStream(streamId: string): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    this.streams.delete(streamId);
    const runners = this.families.get(stream.family);
    runners?.active.forgetStream(streamId);
    runners?.shadow?.forgetStream(streamId);
  }

  hasStream(streamId: string): boolean {
    return this.streams.has(streamId);
  }

  streamStats(streamId: string): StreamStats | undefined {
    return this.streams.get(streamId)?.windower.statistics;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Feeds a frame. Windows it completes are processed asynchronously; results reach listeners.
   * Returns the number of windows the frame completed. Throws PipelineError on a bad frame.
   */
  push(frame: SamplesFrame): number {
    const stream = this.streams.get(frame.streamId);
    if (!stream) throw new PipelineError('UNKNOWN_STREAM', `stream ${frame.streamId} is not open`);
    const windows = stream.windower.push(frame);
    for (const window of windows) this.dispatch(stream.family, window);
    return windows.length;
  }

  /** Resolves when every window handed to the runners so far has produced its result. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private dispatch(family: string, window: Window): void {
    const runners = this.families.get(family);
    if (!runners) return;
    const task = this.run(runners, window);
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  private async run(runners: FamilyRunners, window: Window): Promise<void> {
    let active: RunnerOutput;
    let shadow: RunnerOutput | null;
    try {
      [active, shadow] = await Promise.all([
        runners.active.process(window),
        runners.shadow ? runners.shadow.process(window) : Promise.resolve(null),
      ]);
    } catch (error) {
      this.options.onInternalError(error, window);
      return;
    }
    for (const listener of this.listeners) listener(active.result);
    if (shadow) for (const listener of this.shadowListeners) listener(active.result, shadow.result);
  }
}
