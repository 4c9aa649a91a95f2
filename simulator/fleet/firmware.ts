// A simulated wearer's firmware: it samples the wearer (accelerometer 50 Hz, ECG 250 Hz) in real time
// and streams the samples to its device's runtime through the real firmware bridge, with the
// TypeScript client (reconnects, resumes, re-opens its streams after a runtime restart). The wearer's
// signals come chunk by chunk from simulator/fleet/wearer.ts; scenario events (gain changes, new
// wearers, falls, AF) are given in scenario time and placed in the wearer's own time at start.
import { BridgeClient, type ClientCounters } from '../../firmware-bridge/client/index.ts';
import type { AlertMessage, ResultMessage } from '../../firmware-bridge/protocol/index.ts';
import type { PopulationShift } from '../cohorts/cohorts.ts';
import { Rng } from '../rng.ts';
import type { DeviceRecording } from '../recording.ts';
import { wearerChunk, type DaySchedule, type WearerEvent, type WearerProfile } from './wearer.ts';

/** Who wears the device from `fromS` (scenario time) on. */
export interface WearerSegment {
  readonly fromS: number;
  readonly population: string;
  readonly shift?: PopulationShift;
  readonly schedule?: DaySchedule;
}

export interface FirmwareOptions {
  readonly device: string;
  readonly firmware: string;
  readonly socketPath: string;
  /** Cohort key sent with every stream (drift grouping). */
  readonly cohort: string;
  readonly seed: string;
  /** Wearers over time (the first one from 0). */
  readonly wearers: readonly WearerSegment[];
  /** Scenario events of this wearer, in scenario time. */
  readonly events: readonly WearerEvent[];
  /** Scenario time (s) now: the wearer's own clock starts at the value when streaming starts. */
  readonly scenarioNowS: () => number;
  readonly chunkS?: number;
  readonly frameMs?: number;
  /** Samples frames waiting for the runtime (e.g. while it restarts) before older ones are dropped. */
  readonly maxQueuedFrames?: number;
  readonly onAlert?: (alert: AlertMessage) => void;
  /**
   * Share of results that get a delayed ground-truth label (the generator's truth: a fall impact in
   * the window, AF over most of it), sent `labelDelayMs` later over the bridge. 0: none.
   */
  readonly labelShare?: number;
  readonly labelDelayMs?: number;
  /** The wearer could not be simulated any further (the firmware stops sampling). */
  readonly onError?: (error: unknown) => void;
  readonly onResult?: (result: ResultMessage) => void;
  readonly now?: () => number;
}

export interface FirmwareCounters {
  readonly results: number;
  /** Labels sent, and how many the runtime accepted. */
  readonly labels: number;
  readonly labelsAccepted: number;
  readonly alerts: number;
  readonly fallbacks: number;
  /** Frames the firmware could not hand to the bridge (runtime down longer than its queue). */
  readonly framesDropped: number;
  readonly chunksGenerated: number;
  readonly bridge: ClientCounters;
}

interface StreamState {
  readonly name: 'accel' | 'ecg';
  readonly rateHz: number;
  /** Next sample (wearer time × rate) to send. */
  next: number;
}

interface Chunk {
  readonly index: number;
  readonly fromS: number;
  readonly toS: number;
  readonly recording: DeviceRecording;
}

/** Shortest chunk deviceRecording accepts. */
const MIN_CHUNK_S = 5;

export class SimulatedFirmware {
  private timer: NodeJS.Timeout | null = null;
  private chunks: Chunk[] = [];
  private chunkCount = 0;
  private readonly streams: StreamState[] = [
    { name: 'accel', rateHz: 50, next: 0 },
    { name: 'ecg', rateHz: 250, next: 0 },
  ];
  private t0Ms = 0;
  private offsetS = 0;
  private results = 0;
  private alerts = 0;
  private fallbacks = 0;
  private framesDropped = 0;
  private stopped = false;
  private labels = 0;
  private labelsAccepted = 0;
  /** Ground truth of the chunks rendered so far (wearer time): fall impacts and AF spans. */
  private readonly impacts: number[] = [];
  private readonly afSpans: [number, number][] = [];
  private readonly labelRng: Rng;
  private readonly now: () => number;

  private constructor(
    private readonly options: FirmwareOptions,
    private readonly client: BridgeClient,
  ) {
    this.now = options.now ?? Date.now;
    this.labelRng = Rng.of(options.seed, options.device, 'labels');
  }

  /** Connects (waiting for the runtime to listen), opens the streams and starts sampling. */
  static async start(options: FirmwareOptions): Promise<SimulatedFirmware> {
    const client = await BridgeClient.connect({
      transport: { kind: 'unix', path: options.socketPath },
      device: options.device,
      firmware: options.firmware,
      sensors: [
        { sensor: 'accel', rateHz: 50, channels: 3 },
        { sensor: 'ecg', rateHz: 250, channels: 1 },
      ],
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
      maxQueuedFrames: options.maxQueuedFrames ?? 1024,
    });
    const fw = new SimulatedFirmware(options, client);
    client.onResult((r) => {
      fw.results += 1;
      if (r.status.kind === 'fallback') fw.fallbacks += 1;
      fw.maybeLabel(r);
      options.onResult?.(r);
    });
    client.onAlert((a) => {
      fw.alerts += 1;
      options.onAlert?.(a);
    });
    client.onError(() => undefined);
    await client.openStream({
      stream: 'accel',
      sensor: 'accel',
      rateHz: 50,
      channels: 3,
      cohort: options.cohort,
    });
    await client.openStream({
      stream: 'ecg',
      sensor: 'ecg',
      rateHz: 250,
      channels: 1,
      cohort: options.cohort,
    });
    fw.t0Ms = fw.now();
    fw.offsetS = options.scenarioNowS();
    const frameMs = options.frameMs ?? 200;
    fw.timer = setInterval(() => {
      try {
        fw.tick();
      } catch (error) {
        // A wearer that cannot be rendered stops; the rest of the fleet goes on.
        fw.stopped = true;
        if (fw.timer) clearInterval(fw.timer);
        options.onError?.(error);
      }
    }, frameMs);
    return fw;
  }

  get counters(): FirmwareCounters {
    return {
      results: this.results,
      labels: this.labels,
      labelsAccepted: this.labelsAccepted,
      alerts: this.alerts,
      fallbacks: this.fallbacks,
      framesDropped: this.framesDropped,
      chunksGenerated: this.chunkCount,
      bridge: { ...this.client.counters },
    };
  }

  /** Sends the window's ground truth later, for a share of the results (clinician follow-up). */
  private maybeLabel(r: ResultMessage): void {
    const share = this.options.labelShare ?? 0;
    if (share <= 0 || this.labelRng.uniform() >= share) return;
    const from = (r.startMs - this.t0Ms) / 1000;
    const to = (r.endMs - this.t0Ms) / 1000;
    let value: 0 | 1;
    if (r.stream === 'accel') value = this.impacts.some((t) => t >= from && t < to) ? 1 : 0;
    else {
      let af = 0;
      for (const [a, b] of this.afSpans) af += Math.max(0, Math.min(b, to) - Math.max(a, from));
      value = af >= (to - from) / 2 ? 1 : 0;
    }
    const timer = setTimeout(() => {
      if (this.stopped) return;
      this.labels += 1;
      this.client
        .label(r.result, value, 'ground-truth')
        .then((outcome) => {
          if (outcome === 'accepted') this.labelsAccepted += 1;
        })
        .catch(() => undefined);
    }, this.options.labelDelayMs ?? 4000);
    timer.unref();
  }

  /** Keeps the generator's truth of a rendered chunk (bounded: the last ten minutes). */
  private remember(chunk: Chunk): void {
    const rec = chunk.recording;
    for (const a of rec.annotations.accel) {
      if (a.kind.startsWith('fall-') && a.impactSample !== undefined) {
        this.impacts.push(chunk.fromS + a.impactSample / rec.accel.rateHz);
      }
    }
    for (const r of rec.annotations.rhythm) {
      if (r.rhythm === 'af') this.afSpans.push([chunk.fromS + r.startS, chunk.fromS + r.endS]);
    }
    const horizon = chunk.fromS - 600;
    while ((this.impacts[0] ?? Infinity) < horizon) this.impacts.shift();
    while ((this.afSpans[0]?.[1] ?? Infinity) < horizon) this.afSpans.shift();
  }

  /** Wearer time (s) of a scenario time. */
  private wearerS(scenarioS: number): number {
    return scenarioS - this.offsetS;
  }

  private tick(): void {
    if (this.stopped) return;
    const elapsedS = (this.now() - this.t0Ms) / 1000;
    for (const s of this.streams) {
      const target = Math.floor(elapsedS * s.rateHz);
      while (s.next < target) {
        const chunk = this.chunkAt(s.next / s.rateHz);
        const chunkEnd = Math.round(chunk.toS * s.rateHz);
        const to = Math.min(target, chunkEnd);
        if (to <= s.next) break;
        this.send(s, chunk, s.next, to);
        s.next = to;
      }
    }
    // Chunks both streams have passed are not needed any more.
    const oldest = Math.min(...this.streams.map((s) => s.next / s.rateHz));
    this.chunks = this.chunks.filter((c) => c.toS > oldest);
  }

  private send(s: StreamState, chunk: Chunk, from: number, to: number): void {
    const base = Math.round(chunk.fromS * s.rateHz);
    const a = from - base;
    const b = to - base;
    const rec = chunk.recording;
    const channels =
      s.name === 'accel'
        ? [rec.accel.x.subarray(a, b), rec.accel.y.subarray(a, b), rec.accel.z.subarray(a, b)]
        : [rec.ecg.samples.subarray(a, b)];
    if ((channels[0]?.length ?? 0) !== to - from) return; // past the recording's end (rounding)
    this.client
      .sendSamples({
        stream: s.name,
        counter: from,
        timestampMs: this.t0Ms + (from * 1000) / s.rateHz,
        channels,
        ...(s.name === 'ecg' ? { flags: rec.ecg.flags.subarray(a, b) } : {}),
      })
      .catch(() => {
        // QUEUE_FULL while the runtime is down, CLOSED at shutdown: those samples are lost (a gap).
        this.framesDropped += 1;
      });
  }

  /** The chunk holding wearer time `t`, generating it when first needed. */
  private chunkAt(t: number): Chunk {
    const have = this.chunks.find((c) => c.fromS <= t && t < c.toS);
    if (have) return have;
    const last = this.chunks[this.chunks.length - 1];
    let fromS = last !== undefined && last.toS <= t ? last.toS : 0;
    // Skip whole chunks the streams never needed (should not happen; keeps boundaries aligned).
    while (this.nextBoundary(fromS) <= t) fromS = this.nextBoundary(fromS);
    const toS = this.nextBoundary(fromS);
    const segment = this.segmentAt(fromS);
    const profile: WearerProfile = {
      seed: `${this.options.seed}/${this.options.device}`,
      population: segment.population,
      ...(segment.shift ? { shift: segment.shift } : {}),
      ...(segment.schedule ? { schedule: segment.schedule } : {}),
      events: this.options.events.map((e) => this.toWearerTime(e)),
    };
    const chunk: Chunk = {
      index: this.chunkCount,
      fromS,
      toS,
      recording: wearerChunk(profile, this.chunkCount, fromS, toS - fromS),
    };
    this.chunkCount += 1;
    this.chunks.push(chunk);
    this.remember(chunk);
    return chunk;
  }

  /** Chunk boundaries: every chunkS, and where another wearer takes the device over. */
  private nextBoundary(fromS: number): number {
    const chunkS = this.options.chunkS ?? 60;
    const regular = (Math.floor(fromS / chunkS) + 1) * chunkS;
    const changes = this.options.wearers
      .map((w) => this.wearerS(w.fromS))
      .filter((x) => x > fromS)
      .sort((a, b) => a - b);
    let next = Math.min(regular, changes[0] ?? Number.POSITIVE_INFINITY);
    if (next - fromS < MIN_CHUNK_S) next = fromS + MIN_CHUNK_S;
    return next;
  }

  private segmentAt(wearerS: number): WearerSegment {
    let current = this.options.wearers[0] ?? { fromS: 0, population: '' };
    for (const w of this.options.wearers) if (this.wearerS(w.fromS) <= wearerS + 1e-9) current = w;
    return current;
  }

  private toWearerTime(e: WearerEvent): WearerEvent {
    switch (e.kind) {
      case 'fall':
      case 'near-fall':
        return { ...e, atS: this.wearerS(e.atS) };
      case 'af':
      case 'lead-off':
        return { ...e, startS: this.wearerS(e.startS), endS: this.wearerS(e.endS) };
      case 'gain':
        return { ...e, startS: Math.max(0, this.wearerS(e.startS)) };
    }
  }

  /** Stops sampling, closes the streams (releases them in the runtime) and the connection. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.client.state === 'ready') {
      for (const s of this.streams) await this.client.closeStream(s.name).catch(() => undefined);
    }
    await this.client.close();
  }
}
