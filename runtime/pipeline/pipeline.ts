// The stream pipeline of one gateway: streams are opened against the active model of the family that
// consumes their sensor; every completed window goes to that model's runner (and to a shadow
// candidate's, whose results never reach the firmware). Models that gate by motion get the same
// device's accelerometer activity over the window's span (docs/pipeline.md "Motion gating").
//
// Delivery (docs/pipeline.md "Delivery"): the active result goes out as soon as the active runner is
// done, whatever the shadow does; the shadow runs on its own, with its own deadline and error
// handling; observers are called by the pipeline after the result is out, each call guarded. A
// runner that throws on an active window (a bug) still gives the firmware a fallback result.
import { randomBytes } from 'node:crypto';
import type { InputSpec, SensorKind } from '../../models/format/manifest.ts';
import type { BatcherStats } from '../inference/batcher.ts';
import { PipelineError, PipelineInternalError } from './errors.ts';
import { validateSpec } from './frame.ts';
import { ACTIVITY_SLACK_MS, ActivityTracker, AuxiliaryStream, type ActivityWindow } from './motion.ts';
import type { PipelineEvent, PipelineObserver } from './observer.ts';
import { resultIdOf, type WindowResult } from './result.ts';
import type { ModelRunner, RunnerOutput, WindowContext } from './runner.ts';
import type { RunnerStats } from './stats.ts';
import { StreamWindower, type StreamStats } from './stream.ts';
import type { SamplesFrame, StreamSpec, Window } from './types.ts';

export interface PipelineOptions {
  readonly maxStreams: number;
  readonly monoNow: () => number;
  /**
   * Something inside the runtime failed (a bug, not bad input): a runner threw (the window still
   * gets an INFERENCE_ERROR fallback), an observer or listener threw, a shadow candidate missed its
   * deadline. Errors are PipelineInternalError (RUNNER_FAILED, OBSERVER_FAILED, SHADOW_TIMEOUT) with the
   * original as `cause`; `window` is null for failures outside a window (closing a stream).
   */
  readonly onInternalError: (error: unknown, window: Window | null) => void;
  /**
   * How long a motion-gated window may wait for its accelerometer data to arrive (default 500 ms);
   * after that it is judged on what arrived (and fails closed when that is not enough).
   */
  readonly motionWaitMs?: number;
  /** Timer for motion waits and shadow deadlines (default setTimeout); injectable for tests. */
  readonly schedule?: (fn: () => void, ms: number) => void;
  /**
   * A shadow candidate's window is abandoned (SHADOW_TIMEOUT) when it has not settled this long
   * after the candidate's own inference deadline (default 1,000 ms). Its batcher already resolves
   * overdue rows as DEADLINE_MISS; this bounds anything else a candidate could hang on.
   */
  readonly shadowGraceMs?: number;
  /**
   * Names this pipeline's lifetime (one gateway boot) in result ids, so that they are never reused
   * after a restart: 1–16 characters of `[A-Za-z0-9_-]`. Default: 48 random bits (base64url). Pass
   * one to get reproducible ids (tests, replays) or to tie them to a persisted boot counter.
   */
  readonly sessionId?: string;
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,16}$/;

export const DEFAULT_MOTION_WAIT_MS = 500;
export const DEFAULT_SHADOW_GRACE_MS = 1000;

/** The runners serving one model family: the active one, and maybe a candidate in shadow. */
export interface FamilyRunners {
  readonly active: ModelRunner;
  readonly shadow: ModelRunner | null;
}

interface OpenStream {
  readonly spec: StreamSpec;
  /** Null for an auxiliary accelerometer stream (motion context only). */
  readonly family: string | null;
  windower: StreamWindower | null;
  readonly aux: AuxiliaryStream | null;
  tracker: ActivityTracker | null;
}

interface ParkedWindow {
  readonly family: string;
  readonly window: Window;
  readonly expiresAtMono: number;
  done: boolean;
}

export type ResultListener = (result: WindowResult) => void;

/** A pair of results for the same window from the active model and its shadow candidate. */
export type ShadowListener = (active: WindowResult, candidate: WindowResult) => void;

export interface FamilyStats {
  readonly family: string;
  readonly active: RunnerStats;
  readonly shadow: RunnerStats | null;
  readonly batcher: BatcherStats;
  /** Windows the shadow did not see because its input spec differs from the active model's. */
  readonly shadowSkipped: number;
  /** Windows on which the shadow runner threw (each counted as its INFERENCE_ERROR fallback too). */
  readonly shadowFailures: number;
  /** Windows the shadow did not settle within its deadline plus the grace (results dropped). */
  readonly shadowTimeouts: number;
}

export interface PipelineStats {
  readonly streams: number;
  readonly auxiliaryStreams: number;
  /** Runner tasks (active and shadow) handed a window whose result is not out yet. */
  readonly inFlight: number;
  /** Motion-gated windows waiting for their accelerometer data. */
  readonly waitingForMotion: number;
  readonly internalErrors: number;
  readonly families: readonly FamilyStats[];
}

function sameInput(a: InputSpec, b: InputSpec): boolean {
  return (
    a.sensor === b.sensor &&
    a.sampleRateHz === b.sampleRateHz &&
    a.rateToleranceRel === b.rateToleranceRel &&
    a.windowS === b.windowS &&
    a.hopS === b.hopS &&
    a.channels.length === b.channels.length &&
    a.channels.every((c, i) => {
      const d = b.channels[i];
      return d !== undefined && c.name === d.name && c.min === d.min && c.max === d.max;
    })
  );
}

export class Pipeline {
  private readonly families = new Map<string, FamilyRunners>();
  private readonly streams = new Map<string, OpenStream>();
  /** Accelerometer streams per device id (for motion context). */
  private readonly accelByDevice = new Map<string, Set<OpenStream>>();
  private readonly parked = new Map<string, ParkedWindow[]>();
  private readonly listeners = new Set<ResultListener>();
  private readonly shadowListeners = new Set<ShadowListener>();
  private readonly shadowSkipped = new Map<string, number>();
  private readonly shadowFailures = new Map<string, number>();
  private readonly shadowTimeouts = new Map<string, number>();
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  private internalErrors = 0;
  private waiting = 0;
  /** Longest window among motion-gated models (0: no model gates by motion). */
  private motionWindowMs = 0;
  /** Names this pipeline's lifetime in window epochs (and so in result ids). */
  readonly sessionId: string;
  /** Windowers created so far: the second half of a window epoch. */
  private windowers = 0;

  /** Throws PipelineInternalError('BAD_OPTIONS') for a malformed sessionId. */
  constructor(
    private readonly options: PipelineOptions,
    readonly observer: PipelineObserver = {},
  ) {
    const sessionId = options.sessionId ?? randomBytes(6).toString('base64url');
    if (!SESSION_ID.test(sessionId)) {
      throw new PipelineInternalError('BAD_OPTIONS', 'sessionId must be 1–16 characters of [A-Za-z0-9_-]');
    }
    this.sessionId = sessionId;
  }

  /** Installs (or replaces) the runners of a family. Open streams keep flowing. */
  setFamily(family: string, runners: FamilyRunners): void {
    const previous = this.families.get(family);
    this.families.set(family, runners);
    if (previous && previous.active !== runners.active) {
      for (const [id, stream] of this.streams) {
        if (stream.family !== family) continue;
        this.emitEvents(previous.active, previous.active.forgetStream(id), null);
        const input = runners.active.model.manifest.input;
        if (sameInput(previous.active.model.manifest.input, input)) continue;
        // A new input spec needs a new windower; a stream it cannot serve is closed (the firmware
        // gets UNKNOWN_STREAM on its next frame, reopens and learns why).
        try {
          stream.windower = this.newWindower(stream.spec, input);
        } catch {
          this.closeStream(id);
        }
      }
    }
    if (previous?.shadow && previous.shadow !== runners.shadow) {
      for (const [id, stream] of this.streams) {
        if (stream.family === family)
          this.emitEvents(previous.shadow, previous.shadow.forgetStream(id), null);
      }
    }
    this.updateMotionNeeds();
  }

  /**
   * Removes a family's runners and closes its streams: the firmware gets UNKNOWN_STREAM on its next
   * frame, reopens and learns why (NO_MODEL_FOR_SENSOR) — its windows are never silently dropped.
   */
  removeFamily(family: string): void {
    for (const [id, stream] of [...this.streams]) if (stream.family === family) this.closeStream(id);
    this.families.delete(family);
    this.updateMotionNeeds();
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

  /**
   * Opens a stream against the active model of the family that reads its sensor. An accelerometer
   * stream that no model reads is still accepted while a model gates PPG by motion (auxiliary).
   * Throws PipelineError (DUPLICATE_STREAM, TOO_MANY_STREAMS, NO_MODEL_FOR_SENSOR, RATE_MISMATCH…).
   */
  openStream(spec: StreamSpec): void {
    validateSpec(spec);
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
    let stream: OpenStream;
    if (family === undefined) {
      if (spec.sensor !== 'accel' || this.motionWindowMs === 0) {
        throw new PipelineError('NO_MODEL_FOR_SENSOR', `no active model consumes ${spec.sensor} streams`);
      }
      if (spec.channelCount !== 3 && spec.channelCount !== 1) {
        throw new PipelineError(
          'CHANNEL_MISMATCH',
          `stream ${spec.streamId}: motion gating reads a 3-axis accelerometer (or its magnitude)`,
        );
      }
      const tracker = this.newTracker(spec);
      stream = { spec, family: null, windower: null, aux: new AuxiliaryStream(spec, tracker), tracker };
    } else {
      const runners = this.families.get(family) as FamilyRunners;
      const windower = this.newWindower(spec, runners.active.model.manifest.input);
      stream = { spec, family, windower, aux: null, tracker: null };
    }
    this.streams.set(spec.streamId, stream);
    if (spec.sensor === 'accel') {
      let set = this.accelByDevice.get(spec.deviceId);
      if (!set) {
        set = new Set();
        this.accelByDevice.set(spec.deviceId, set);
      }
      set.add(stream);
    }
  }

  closeStream(streamId: string): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    this.streams.delete(streamId);
    const accel = this.accelByDevice.get(stream.spec.deviceId);
    if (accel?.delete(stream) === true && accel.size === 0) this.accelByDevice.delete(stream.spec.deviceId);
    const parked = this.parked.get(stream.spec.deviceId);
    if (parked) {
      for (const p of parked) {
        if (p.window.streamId === streamId && !p.done) {
          p.done = true;
          this.waiting -= 1;
        }
      }
      this.settleDrain();
    }
    if (stream.family === null) return;
    const runners = this.families.get(stream.family);
    if (runners) this.emitEvents(runners.active, runners.active.forgetStream(streamId), null);
    if (runners?.shadow) this.emitEvents(runners.shadow, runners.shadow.forgetStream(streamId), null);
  }

  hasStream(streamId: string): boolean {
    return this.streams.has(streamId);
  }

  streamStats(streamId: string): StreamStats | undefined {
    return this.streams.get(streamId)?.windower?.statistics;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Counters for the monitor: streams, queue, and every runner's and batcher's counters. */
  stats(): PipelineStats {
    let aux = 0;
    for (const s of this.streams.values()) if (s.aux) aux += 1;
    return {
      streams: this.streams.size,
      auxiliaryStreams: aux,
      inFlight: this.inFlight,
      waitingForMotion: this.waiting,
      internalErrors: this.internalErrors,
      families: this.familyNames().map((family) => {
        const runners = this.families.get(family) as FamilyRunners;
        return {
          family,
          active: runners.active.stats(),
          shadow: runners.shadow?.stats() ?? null,
          batcher: runners.active.model.batcher.stats,
          shadowSkipped: this.shadowSkipped.get(family) ?? 0,
          shadowFailures: this.shadowFailures.get(family) ?? 0,
          shadowTimeouts: this.shadowTimeouts.get(family) ?? 0,
        };
      }),
    };
  }

  /**
   * Feeds a frame. Windows it completes are processed asynchronously; results reach listeners.
   * Returns the number of windows the frame completed. Throws PipelineError on a bad frame; the
   * stream stays usable.
   */
  push(frame: SamplesFrame): number {
    const f = frame as unknown;
    if (typeof f !== 'object' || f === null)
      throw new PipelineError('BAD_FRAME', 'the frame is not an object');
    const streamId = (f as { streamId?: unknown }).streamId;
    const stream = typeof streamId === 'string' ? this.streams.get(streamId) : undefined;
    if (!stream) throw new PipelineError('UNKNOWN_STREAM', `stream ${String(streamId)} is not open`);
    if (stream.aux) {
      stream.aux.push(frame);
      this.releaseParked(stream.spec.deviceId);
      return 0;
    }
    const windower = stream.windower as StreamWindower;
    const windows = windower.push(frame);
    if (stream.spec.sensor === 'accel' && this.motionWindowMs > 0) {
      stream.tracker ??= this.newTracker(stream.spec);
      stream.tracker.add(frame.channels, windower.timeOf(frame.firstCounter));
      this.releaseParked(stream.spec.deviceId);
    }
    for (const window of windows) this.dispatch(stream.family as string, window);
    return windows.length;
  }

  /** Resolves when every window received so far has produced its result. */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Each windower gets a new epoch: window indexes restart, result ids do not repeat. */
  private newWindower(spec: StreamSpec, input: InputSpec): StreamWindower {
    const epoch = `${this.sessionId}.${(this.windowers + 1).toString(36)}`;
    const windower = new StreamWindower(spec, input, this.options.monoNow, epoch);
    this.windowers += 1;
    return windower;
  }

  // --- motion context ---------------------------------------------------------------------------

  private updateMotionNeeds(): void {
    let longest = 0;
    for (const runners of this.families.values()) {
      for (const runner of [runners.active, runners.shadow]) {
        if (runner?.needsMotion === true)
          longest = Math.max(longest, runner.model.manifest.input.windowS * 1000);
      }
    }
    this.motionWindowMs = longest;
    if (longest === 0) {
      for (const stream of this.streams.values()) if (!stream.aux) stream.tracker = null;
    }
  }

  private newTracker(spec: StreamSpec): ActivityTracker {
    return new ActivityTracker(spec.streamId, spec.rateHz, this.motionWindowMs + ACTIVITY_SLACK_MS);
  }

  /** The best-covered accelerometer activity of the window's device, and whether it is complete. */
  private motionFor(window: Window): { motion: ActivityWindow | null; complete: boolean } {
    let best: ActivityWindow | null = null;
    let complete = false;
    for (const stream of this.accelByDevice.get(window.deviceId) ?? []) {
      if (!stream.tracker) continue;
      const activity = stream.tracker.query(window.startMs, window.endMs);
      if (!best || activity.samples > best.samples) best = activity;
      if (stream.tracker.coveredUntilMs >= window.endMs) complete = true;
    }
    return { motion: best, complete };
  }

  private needsMotion(runners: FamilyRunners): boolean {
    return runners.active.needsMotion || runners.shadow?.needsMotion === true;
  }

  private park(family: string, window: Window): void {
    const entry: ParkedWindow = {
      family,
      window,
      expiresAtMono: this.options.monoNow() + (this.options.motionWaitMs ?? DEFAULT_MOTION_WAIT_MS),
      done: false,
    };
    let list = this.parked.get(window.deviceId);
    if (!list) {
      list = [];
      this.parked.set(window.deviceId, list);
    }
    list.push(entry);
    this.waiting += 1;
    const schedule = this.options.schedule ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    schedule(() => {
      this.release(entry);
    }, this.options.motionWaitMs ?? DEFAULT_MOTION_WAIT_MS);
  }

  /** Releases the device's parked windows whose accelerometer data is now complete. */
  private releaseParked(deviceId: string): void {
    const list = this.parked.get(deviceId);
    if (!list) return;
    for (const entry of list) {
      if (!entry.done && this.motionFor(entry.window).complete) this.release(entry);
    }
  }

  private release(entry: ParkedWindow): void {
    if (entry.done) return;
    entry.done = true;
    this.waiting -= 1;
    const list = this.parked.get(entry.window.deviceId);
    if (list) {
      const open = list.filter((e) => !e.done);
      if (open.length === 0) this.parked.delete(entry.window.deviceId);
      else this.parked.set(entry.window.deviceId, open);
    }
    const runners = this.families.get(entry.family);
    if (runners) {
      const { motion } = this.motionFor(entry.window);
      this.run(runners, entry.family, entry.window, { motion, readyAtMonoMs: this.options.monoNow() });
    }
    this.settleDrain();
  }

  // --- dispatch ---------------------------------------------------------------------------------

  private dispatch(family: string, window: Window): void {
    const runners = this.families.get(family);
    if (!runners) return;
    if (this.needsMotion(runners)) {
      const { motion, complete } = this.motionFor(window);
      if (!complete && motion !== null && (this.options.motionWaitMs ?? DEFAULT_MOTION_WAIT_MS) > 0) {
        this.park(family, window);
        return;
      }
      this.run(runners, family, window, { motion });
      return;
    }
    this.run(runners, family, window, undefined);
  }

  private run(
    runners: FamilyRunners,
    family: string,
    window: Window,
    context: WindowContext | undefined,
  ): void {
    let shadow = runners.shadow;
    if (shadow && !sameInput(shadow.model.manifest.input, runners.active.model.manifest.input)) {
      this.shadowSkipped.set(family, (this.shadowSkipped.get(family) ?? 0) + 1);
      shadow = null;
    }
    const pair = shadow && this.shadowListeners.size > 0 ? new ShadowPair() : null;
    this.runActive(runners.active, window, context, pair);
    if (shadow) this.runShadow(shadow, family, window, context, pair);
  }

  /** The active runner's result goes out as soon as it is ready; a runner failure still answers. */
  private runActive(
    runner: ModelRunner,
    window: Window,
    context: WindowContext | undefined,
    pair: ShadowPair | null,
  ): void {
    this.inFlight += 1;
    runner.process(window, context).then(
      (output) => {
        this.deliverActive(runner, window, output, pair);
        this.done();
      },
      (error: unknown) => {
        this.internalError(
          new PipelineInternalError('RUNNER_FAILED', `${runnerName(runner)} failed on ${window.streamId}`, {
            cause: error,
          }),
          window,
        );
        // The candidate is not to blame for the active runner's bug: no comparison for this window.
        pair?.drop();
        this.deliverActive(runner, window, this.failureOutput(runner, window), null);
        this.done();
      },
    );
  }

  /**
   * The shadow candidate runs on its own: whatever it does (throw, hang, call a failing observer)
   * never reaches the active path. A failure counts as the candidate's INFERENCE_ERROR fallback; a
   * window it does not settle within its deadline + grace is dropped (SHADOW_TIMEOUT).
   */
  private runShadow(
    runner: ModelRunner,
    family: string,
    window: Window,
    context: WindowContext | undefined,
    pair: ShadowPair | null,
  ): void {
    this.inFlight += 1;
    let settled = false;
    const cancel = this.startTimer(
      () => {
        if (settled) return;
        settled = true;
        bump(this.shadowTimeouts, family);
        pair?.drop();
        this.internalError(
          new PipelineInternalError(
            'SHADOW_TIMEOUT',
            `${runnerName(runner)} did not settle ${window.streamId} window ${window.index} in time`,
          ),
          window,
        );
        this.done();
      },
      runner.inferenceDeadlineMs + (this.options.shadowGraceMs ?? DEFAULT_SHADOW_GRACE_MS),
    );
    runner.process(window, context).then(
      (output) => {
        if (settled) return;
        settled = true;
        cancel();
        this.deliverShadow(runner, window, output, pair);
        this.done();
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        cancel();
        bump(this.shadowFailures, family);
        this.internalError(
          new PipelineInternalError('RUNNER_FAILED', `${runnerName(runner)} failed on ${window.streamId}`, {
            cause: error,
          }),
          window,
        );
        this.deliverShadow(runner, window, this.failureOutput(runner, window), pair);
        this.done();
      },
    );
  }

  /** The declared fallback (INFERENCE_ERROR) for a window its runner failed on. */
  private failureOutput(runner: ModelRunner, window: Window): RunnerOutput {
    const detail = 'internal runtime error (reported); the model output is not available';
    try {
      return runner.internalFailure(window, detail);
    } catch (error) {
      // Even the runner's fallback path failed: answer "suppressed" with its provenance.
      this.internalError(
        new PipelineInternalError('RUNNER_FAILED', `${runnerName(runner)} fallback failed`, { cause: error }),
        window,
      );
      const result: WindowResult = {
        resultId: resultIdOf(window, runner.model.manifest.modelFamily),
        deviceId: window.deviceId,
        streamId: window.streamId,
        windowIndex: window.index,
        firstCounter: window.firstCounter,
        lastCounter: window.lastCounter,
        startMs: window.startMs,
        endMs: window.endMs,
        cohort: window.cohort,
        status: { kind: 'fallback', reason: 'INFERENCE_ERROR', detail, output: { kind: 'suppressed' } },
        provenance: runner.provenance,
        latencyMs: 0,
        shadow: runner.shadow,
      };
      return { result, features: null, events: [] };
    }
  }

  /** Latency is measured when the result is handed over, not when the runner built it. */
  private stamp(result: WindowResult, window: Window): WindowResult {
    return { ...result, latencyMs: this.options.monoNow() - window.completedAtMonoMs };
  }

  /**
   * Alerts (the firmware's) first, then the result to the listeners (the firmware), then the
   * observers (episode events before the result, so that an episode's first window is pinned).
   */
  private deliverActive(
    runner: ModelRunner,
    window: Window,
    output: RunnerOutput,
    pair: ShadowPair | null,
  ): void {
    const result = this.stamp(output.result, window);
    const observer = runner.observer;
    for (const event of output.events) {
      if (event.kind === 'alert') this.guard(() => observer.onEvent?.(event), window);
    }
    for (const listener of this.listeners) {
      this.guard(() => {
        listener(result);
      }, window);
    }
    for (const event of output.events) {
      if (event.kind !== 'alert') this.guard(() => observer.onEvent?.(event), window);
    }
    this.guard(() => observer.onResult?.(result, output.features, window), window);
    if (pair?.setActive(result) === true) this.emitPair(pair, window);
  }

  private deliverShadow(
    runner: ModelRunner,
    window: Window,
    output: RunnerOutput,
    pair: ShadowPair | null,
  ): void {
    const result = this.stamp(output.result, window);
    this.emitEvents(runner, output.events, window);
    this.guard(() => runner.observer.onResult?.(result, output.features, window), window);
    if (pair?.setCandidate(result) === true) this.emitPair(pair, window);
  }

  private emitPair(pair: ShadowPair, window: Window): void {
    const { active, candidate } = pair;
    if (!active || !candidate) return;
    for (const listener of this.shadowListeners) {
      this.guard(() => {
        listener(active, candidate);
      }, window);
    }
  }

  private emitEvents(runner: ModelRunner, events: readonly PipelineEvent[], window: Window | null): void {
    for (const event of events) this.guard(() => runner.observer.onEvent?.(event), window);
  }

  /** Calls an observer or listener; a throw is reported, never propagated. */
  private guard(fn: () => void, window: Window | null): void {
    try {
      fn();
    } catch (error) {
      this.internalError(
        new PipelineInternalError('OBSERVER_FAILED', 'a result listener or observer threw', { cause: error }),
        window,
      );
    }
  }

  private internalError(error: unknown, window: Window | null): void {
    this.internalErrors += 1;
    try {
      this.options.onInternalError(error, window);
    } catch {
      // The reporter itself failed: the counter above still shows it.
    }
  }

  /** A cancellable timer on the injected schedule (or setTimeout). */
  private startTimer(fn: () => void, ms: number): () => void {
    const schedule = this.options.schedule;
    if (schedule) {
      let live = true;
      schedule(() => {
        if (live) fn();
      }, ms);
      return () => {
        live = false;
      };
    }
    const handle = setTimeout(fn, ms);
    return () => {
      clearTimeout(handle);
    };
  }

  private done(): void {
    this.inFlight -= 1;
    this.settleDrain();
  }

  private settleDrain(): void {
    if (this.inFlight !== 0 || this.waiting !== 0 || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Joins the active and the shadow result of one window for the shadow-pair listeners. */
class ShadowPair {
  active: WindowResult | null = null;
  candidate: WindowResult | null = null;
  private dropped = false;

  /** True when the pair is complete (and not dropped). */
  setActive(result: WindowResult): boolean {
    this.active = result;
    return !this.dropped && this.candidate !== null;
  }

  setCandidate(result: WindowResult): boolean {
    this.candidate = result;
    return !this.dropped && this.active !== null;
  }

  drop(): void {
    this.dropped = true;
  }
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function runnerName(runner: ModelRunner): string {
  return `${runner.shadow ? 'shadow' : 'active'} runner ${runner.model.manifest.bundleId}`;
}
