// Artifacts applicable to any sampled signal (one or more channels sharing a clock). Each artifact
// has explicit parameters and returns ground-truth annotations of where it applies, so quality-gate
// tests can know the truth per window.
//
// They are applied in a fixed physical order whatever the order given: the clock first (rate
// mismatch), then additive disturbances (baseline wander, powerline, motion, noise), then the
// front end (gain change, clipping at the ADC rails), then sensor states (flatline, lead-off) and
// finally transport (dropouts: missing samples become NaN with a mask).
import { SimulatorError, checkRange } from '../errors.ts';
import type { Rng } from '../rng.ts';
import { Ar1 } from './noise.ts';

/** Sensor flag bits per sample. */
export const FLAG_LEAD_OFF = 1;

interface Span {
  /** Start of the affected span in seconds (default 0). */
  readonly startS?: number;
  /** End of the affected span in seconds (default: end of signal). */
  readonly endS?: number;
}

/** Accelerometer data used to couple motion artifacts to body movement. */
export interface MotionSource {
  readonly rateHz: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly z: Float32Array;
}

export type ArtifactSpec =
  | (Span & { readonly kind: 'baseline-wander'; readonly amplitude: number; readonly freqHz?: number })
  | (Span & { readonly kind: 'powerline'; readonly amplitude: number; readonly freqHz?: 50 | 60 })
  | (Span & { readonly kind: 'gaussian-noise'; readonly sd?: number; readonly snrDb?: number })
  | (Span & {
      readonly kind: 'motion';
      /** Artifact amplitude per g of dynamic acceleration (coupled) or burst amplitude (uncoupled). */
      readonly amplitude: number;
      /** When given, the artifact follows this accelerometer's dynamic acceleration. */
      readonly accel?: MotionSource;
      /** Uncoupled bursts per minute (default 4). */
      readonly burstsPerMin?: number;
    })
  | (Span & { readonly kind: 'gain-change'; readonly factor: number })
  | { readonly kind: 'clipping'; readonly min: number; readonly max: number }
  | (Span & { readonly kind: 'flatline' })
  | (Span & { readonly kind: 'lead-off'; readonly value?: number })
  | (Span & {
      readonly kind: 'dropout';
      /** Random gaps per minute (ignored when startS/endS are given: then that span is dropped). */
      readonly perMin?: number;
      readonly meanDurationS?: number;
    })
  | { readonly kind: 'rate-mismatch'; readonly epsilon: number };

export type ArtifactKind = ArtifactSpec['kind'];

export const ARTIFACT_KINDS: readonly ArtifactKind[] = [
  'rate-mismatch',
  'baseline-wander',
  'powerline',
  'motion',
  'gaussian-noise',
  'gain-change',
  'clipping',
  'flatline',
  'lead-off',
  'dropout',
];

/** Where an artifact applies: sample indices (end exclusive) at the signal's declared rate. */
export interface ArtifactAnnotation {
  readonly kind: ArtifactKind;
  readonly startSample: number;
  readonly endSample: number;
  readonly params: Readonly<Record<string, number>>;
}

export interface SampledSignal {
  /** Declared (nominal) sampling rate. */
  readonly rateHz: number;
  readonly channels: readonly Float32Array[];
}

export interface ArtifactResult {
  readonly channels: Float32Array[];
  /** 1 where the sample is missing (its value is NaN). */
  readonly missing: Uint8Array;
  /** Per-sample sensor flags (bit 0: lead-off). */
  readonly flags: Uint8Array;
  readonly annotations: ArtifactAnnotation[];
}

function span(spec: Span, rate: number, n: number): [number, number] {
  const a =
    spec.startS === undefined ? 0 : Math.round(checkRange('artifact startS', spec.startS, 0, 1e6) * rate);
  const b = spec.endS === undefined ? n : Math.round(checkRange('artifact endS', spec.endS, 0, 1e6) * rate);
  if (b < a) throw new SimulatorError('BAD_ARTIFACT', 'artifact endS must not be before startS');
  return [Math.min(a, n), Math.min(b, n)];
}

function validate(spec: ArtifactSpec): void {
  const bad = (m: string): never => {
    throw new SimulatorError('BAD_ARTIFACT', `${spec.kind}: ${m}`);
  };
  const fin = (name: string, v: number | undefined, lo: number, hi: number): void => {
    if (v !== undefined && !(Number.isFinite(v) && v >= lo && v <= hi))
      bad(`${name} must be in [${lo}, ${hi}], got ${v}`);
  };
  switch (spec.kind) {
    case 'baseline-wander':
      fin('amplitude', spec.amplitude, 0, 1e4);
      fin('freqHz', spec.freqHz, 0.01, 2);
      break;
    case 'powerline':
      fin('amplitude', spec.amplitude, 0, 1e4);
      if (spec.freqHz !== undefined && ![50, 60].includes(spec.freqHz)) bad('freqHz must be 50 or 60');
      break;
    case 'gaussian-noise':
      if ((spec.sd === undefined) === (spec.snrDb === undefined)) bad('give exactly one of sd or snrDb');
      fin('sd', spec.sd, 0, 1e4);
      fin('snrDb', spec.snrDb, -40, 100);
      break;
    case 'motion':
      fin('amplitude', spec.amplitude, 0, 1e4);
      fin('burstsPerMin', spec.burstsPerMin, 0, 60);
      break;
    case 'gain-change':
      fin('factor', spec.factor, 0, 1e3);
      break;
    case 'clipping':
      fin('min', spec.min, -1e6, 1e6);
      fin('max', spec.max, -1e6, 1e6);
      if (!(spec.min < spec.max)) bad('min must be below max');
      break;
    case 'flatline':
    case 'lead-off':
      if ('value' in spec) fin('value', spec.value, -1e6, 1e6);
      break;
    case 'dropout':
      fin('perMin', spec.perMin, 0, 600);
      fin('meanDurationS', spec.meanDurationS, 0.001, 60);
      break;
    case 'rate-mismatch':
      fin('epsilon', spec.epsilon, -0.1, 0.1);
      break;
  }
}

/**
 * Applies artifacts to a copy of the channels. Each artifact draws from its own stream keyed by its
 * kind and its occurrence among artifacts of that kind, so adding an artifact of another kind never
 * changes the random numbers of the others.
 */
export function applyArtifacts(
  signal: SampledSignal,
  specs: readonly ArtifactSpec[],
  rng: Rng,
): ArtifactResult {
  for (const s of specs) validate(s);
  const rate = signal.rateHz;
  let channels: Float32Array<ArrayBuffer>[] = signal.channels.map((c) => Float32Array.from(c));
  const n = channels[0]?.length ?? 0;
  const missing = new Uint8Array(n);
  const flags = new Uint8Array(n);
  const annotations: ArtifactAnnotation[] = [];
  const ordered = specs
    .map((spec, index) => ({ spec, index }))
    .sort(
      (a, b) =>
        ARTIFACT_KINDS.indexOf(a.spec.kind) - ARTIFACT_KINDS.indexOf(b.spec.kind) || a.index - b.index,
    );
  const seen = new Map<ArtifactKind, number>();
  const occurrence = specs.map((s) => {
    const k = seen.get(s.kind) ?? 0;
    seen.set(s.kind, k + 1);
    return k;
  });
  for (const { spec, index } of ordered) {
    const r = rng.fork('artifact', spec.kind, occurrence[index] ?? 0);
    switch (spec.kind) {
      case 'rate-mismatch':
        channels = channels.map((c) => resample(c, spec.epsilon));
        annotations.push({
          kind: spec.kind,
          startSample: 0,
          endSample: n,
          params: { epsilon: spec.epsilon },
        });
        break;
      case 'baseline-wander': {
        const [a, b] = span(spec, rate, n);
        const f = spec.freqHz ?? 0.3;
        // A few incommensurate slow components around f: respiration and electrode drift.
        const comps = [
          { amp: 0.7 * spec.amplitude, w: 2 * Math.PI * f, ph: r.between(0, 2 * Math.PI) },
          {
            amp: 0.2 * spec.amplitude,
            w: 2 * Math.PI * f * r.between(0.2, 0.6),
            ph: r.between(0, 2 * Math.PI),
          },
          {
            amp: 0.1 * spec.amplitude,
            w: 2 * Math.PI * f * r.between(1.5, 2.5),
            ph: r.between(0, 2 * Math.PI),
          },
        ];
        for (const c of channels)
          for (let i = a; i < b; i++) {
            let v = 0;
            for (const p of comps) v += p.amp * Math.sin((p.w * i) / rate + p.ph);
            c[i] = (c[i] ?? 0) + v;
          }
        annotations.push({
          kind: spec.kind,
          startSample: a,
          endSample: b,
          params: { amplitude: spec.amplitude, freqHz: f },
        });
        break;
      }
      case 'powerline': {
        const [a, b] = span(spec, rate, n);
        const f = spec.freqHz ?? 50;
        const ph = r.between(0, 2 * Math.PI);
        const wobble = new Ar1(r, 0.05, 0.999);
        for (let i = a; i < b; i++) {
          const t = i / rate;
          const v =
            spec.amplitude *
            (1 + wobble.next()) *
            (Math.sin(2 * Math.PI * f * t + ph) + 0.15 * Math.sin(6 * Math.PI * f * t + 2 * ph));
          for (const c of channels) c[i] = (c[i] ?? 0) + v;
        }
        annotations.push({
          kind: spec.kind,
          startSample: a,
          endSample: b,
          params: { amplitude: spec.amplitude, freqHz: f },
        });
        break;
      }
      case 'gaussian-noise': {
        const [a, b] = span(spec, rate, n);
        // SNR is relative to the RMS of the clean input over the span (before any artifact).
        for (const [ci, c] of channels.entries()) {
          const clean = signal.channels[ci] ?? c;
          const sd = spec.sd ?? rms(clean, a, b) / Math.pow(10, (spec.snrDb ?? 0) / 20);
          for (let i = a; i < b; i++) c[i] = (c[i] ?? 0) + r.normal(0, sd);
        }
        const params: Record<string, number> =
          spec.sd === undefined ? { snrDb: spec.snrDb ?? 0 } : { sd: spec.sd };
        annotations.push({ kind: spec.kind, startSample: a, endSample: b, params });
        break;
      }
      case 'motion': {
        const [a, b] = span(spec, rate, n);
        const trace = spec.accel
          ? coupledMotion(spec.accel, rate, n, spec.amplitude, r)
          : burstMotion(rate, n, spec, r);
        for (const c of channels) for (let i = a; i < b; i++) c[i] = (c[i] ?? 0) + (trace.value[i] ?? 0);
        for (const [s, e] of runs(trace.active, a, b)) {
          annotations.push({
            kind: spec.kind,
            startSample: s,
            endSample: e,
            params: { amplitude: spec.amplitude },
          });
        }
        break;
      }
      case 'gain-change': {
        const [a, b] = span(spec, rate, n);
        for (const c of channels) for (let i = a; i < b; i++) c[i] = (c[i] ?? 0) * spec.factor;
        annotations.push({ kind: spec.kind, startSample: a, endSample: b, params: { factor: spec.factor } });
        break;
      }
      case 'clipping': {
        // Annotate each clipped run (where the true signal went past a rail).
        const hit = new Uint8Array(n);
        for (const c of channels)
          for (let i = 0; i < n; i++) {
            const v = c[i] ?? 0;
            if (v >= spec.max || v <= spec.min) hit[i] = 1;
            c[i] = Math.min(spec.max, Math.max(spec.min, v));
          }
        for (const [s, e] of runs(hit, 0, n)) {
          annotations.push({
            kind: spec.kind,
            startSample: s,
            endSample: e,
            params: { min: spec.min, max: spec.max },
          });
        }
        break;
      }
      case 'flatline': {
        // A stuck sensor: holds the last value before the span, with no flag raised.
        const [a, b] = span(spec, rate, n);
        for (const c of channels) {
          const held = a > 0 ? (c[a - 1] ?? 0) : (c[0] ?? 0);
          c.fill(held, a, b);
        }
        annotations.push({ kind: spec.kind, startSample: a, endSample: b, params: {} });
        break;
      }
      case 'lead-off': {
        const [a, b] = span(spec, rate, n);
        const value = spec.value ?? 0;
        for (const c of channels) c.fill(value, a, b);
        for (let i = a; i < b; i++) flags[i] = (flags[i] ?? 0) | FLAG_LEAD_OFF;
        annotations.push({ kind: spec.kind, startSample: a, endSample: b, params: { value } });
        break;
      }
      case 'dropout': {
        const gaps: [number, number][] = [];
        if (spec.startS !== undefined || spec.endS !== undefined) gaps.push(span(spec, rate, n));
        else {
          // Poisson arrivals of gaps with exponential lengths (a lossy radio link).
          const perS = (spec.perMin ?? 6) / 60;
          const mean = spec.meanDurationS ?? 0.2;
          let t = perS > 0 ? -Math.log(1 - r.uniform()) / perS : Infinity;
          while (t * rate < n) {
            const len = Math.max(1, Math.round(-Math.log(1 - r.uniform()) * mean * rate));
            const s = Math.floor(t * rate);
            gaps.push([s, Math.min(n, s + len)]);
            t += len / rate - Math.log(1 - r.uniform()) / perS;
          }
        }
        for (const [s, e] of gaps) {
          for (const c of channels) c.fill(Number.NaN, s, e);
          missing.fill(1, s, e);
          annotations.push({ kind: spec.kind, startSample: s, endSample: e, params: {} });
        }
        break;
      }
    }
  }
  return { channels, missing, flags, annotations };
}

function rms(c: Float32Array, a: number, b: number): number {
  let s = 0;
  let k = 0;
  for (let i = a; i < b; i++) {
    const v = c[i] ?? 0;
    if (Number.isFinite(v)) {
      s += v * v;
      k++;
    }
  }
  return k > 0 ? Math.sqrt(s / k) : 0;
}

/**
 * The device's clock runs at rate * (1 + epsilon) while it declares the nominal rate: output sample
 * i is the signal at nominal time i / (1 + epsilon). Linear interpolation; past the end the last
 * sample is held.
 */
function resample(c: Float32Array, epsilon: number): Float32Array<ArrayBuffer> {
  const n = c.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = i / (1 + epsilon);
    const k = Math.floor(x);
    const f = x - k;
    const a = c[Math.min(n - 1, k)] ?? 0;
    const b = c[Math.min(n - 1, k + 1)] ?? a;
    out[i] = a + (b - a) * f;
  }
  return out;
}

/** Contiguous runs of nonzero entries within [a, b). */
function runs(mask: Uint8Array, a: number, b: number): [number, number][] {
  const out: [number, number][] = [];
  let s = -1;
  for (let i = a; i < b; i++) {
    if (mask[i] && s < 0) s = i;
    if (!mask[i] && s >= 0) {
      out.push([s, i]);
      s = -1;
    }
  }
  if (s >= 0) out.push([s, b]);
  return out;
}

interface MotionTrace {
  value: Float64Array;
  active: Uint8Array;
}

/**
 * Motion artifact driven by the accelerometer: the dynamic (gravity-removed, 1 s moving-average
 * high-passed) acceleration, mixed across axes with random weights, plus noise whose level follows
 * the local movement energy (optical coupling changes as the sensor shifts on the skin).
 */
function coupledMotion(acc: MotionSource, rate: number, n: number, perG: number, r: Rng): MotionTrace {
  const m = acc.x.length;
  const win = Math.max(1, Math.round(acc.rateHz));
  const w = [r.normal(), r.normal(), r.normal()];
  const wn = Math.hypot(w[0] ?? 0, w[1] ?? 0, w[2] ?? 0) || 1;
  const dyn = new Float64Array(m);
  const energy = new Float64Array(m);
  const axes = [acc.x, acc.y, acc.z];
  for (let ax = 0; ax < 3; ax++) {
    const c = axes[ax] ?? acc.x;
    let sum = 0;
    const mean = new Float64Array(m);
    // centred moving average (window ~1 s) as the gravity estimate
    const half = Math.floor(win / 2);
    for (let i = -half; i < m + half; i++) {
      const add = i + half;
      const drop = i - half - 1;
      if (add < m) sum += finite(c[add]);
      if (drop >= 0 && drop < m) sum -= finite(c[drop]);
      if (i >= 0 && i < m) {
        const lo = Math.max(0, i - half);
        const hi = Math.min(m - 1, i + half);
        mean[i] = sum / (hi - lo + 1);
      }
    }
    for (let i = 0; i < m; i++) {
      const d = finite(c[i]) - (mean[i] ?? 0);
      dyn[i] = (dyn[i] ?? 0) + ((w[ax] ?? 0) / wn) * d;
      energy[i] = (energy[i] ?? 0) + d * d;
    }
  }
  const value = new Float64Array(n);
  const active = new Uint8Array(n);
  const jitter = new Ar1(r, 1, 0.9);
  for (let i = 0; i < n; i++) {
    const x = (i / rate) * acc.rateHz;
    const k = Math.min(m - 1, Math.floor(x));
    const f = Math.min(1, x - k);
    const d = (dyn[k] ?? 0) * (1 - f) + (dyn[Math.min(m - 1, k + 1)] ?? 0) * f;
    const level = Math.sqrt(energy[k] ?? 0);
    value[i] = perG * (d + 0.5 * level * jitter.next());
    if (level > 0.06) active[i] = 1;
  }
  return { value, active };
}

function finite(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) ? v : 0;
}

/** Uncoupled motion: bursts (1-4 s) of band-limited (0.5-5 Hz) movement at random times. */
function burstMotion(
  rate: number,
  n: number,
  spec: { burstsPerMin?: number; amplitude: number },
  r: Rng,
): MotionTrace {
  const value = new Float64Array(n);
  const active = new Uint8Array(n);
  const perS = (spec.burstsPerMin ?? 4) / 60;
  let t = perS > 0 ? -Math.log(1 - r.uniform()) / perS : Infinity;
  while (t * rate < n) {
    const dur = r.between(1, 4);
    const s = Math.floor(t * rate);
    const e = Math.min(n, Math.ceil((t + dur) * rate));
    const comps = [0, 1, 2].map(() => ({
      f: r.between(0.5, 5),
      ph: r.between(0, 2 * Math.PI),
      a: r.between(0.3, 1),
    }));
    for (let i = s; i < e; i++) {
      const u = (i - s) / Math.max(1, e - s);
      const env = Math.sin(Math.PI * u);
      let v = 0;
      for (const c of comps) v += c.a * Math.sin(2 * Math.PI * c.f * (i / rate) + c.ph);
      value[i] = (value[i] ?? 0) + (spec.amplitude * env * v) / 1.5;
      active[i] = 1;
    }
    t += dur - Math.log(1 - r.uniform()) / perS;
  }
  return { value, active };
}

/**
 * Parses the CLI form `NAME[:k=v,...]`, e.g. `powerline:amplitude=0.1,freqHz=60`,
 * `noise:snrDb=20`, `dropout:perMin=10`, `clipping:min=-1,max=1`, `rate-mismatch:epsilon=0.01`.
 */
export function parseArtifactSpec(text: string): ArtifactSpec {
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).trim();
  const params: Record<string, number> = {};
  if (colon >= 0 && text.slice(colon + 1).trim() !== '') {
    for (const part of text.slice(colon + 1).split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) throw new SimulatorError('BAD_ARTIFACT', `artifact parameter "${part}" is not k=v`);
      const key = part.slice(0, eq).trim();
      const raw = part.slice(eq + 1).trim();
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value)) {
        throw new SimulatorError('BAD_ARTIFACT', `artifact parameter ${key} must be a number, got "${raw}"`);
      }
      if (key in params) throw new SimulatorError('BAD_ARTIFACT', `duplicate artifact parameter ${key}`);
      params[key] = value;
    }
  }
  const allowed = (keys: readonly string[]): void => {
    for (const k of Object.keys(params)) {
      if (!keys.includes(k)) {
        throw new SimulatorError(
          'BAD_ARTIFACT',
          `unknown parameter "${k}" for ${name} (allowed: ${keys.join(', ')})`,
        );
      }
    }
  };
  const opt = (k: string): { [key: string]: number } => (params[k] === undefined ? {} : { [k]: params[k] });
  const sp = { ...opt('startS'), ...opt('endS') };
  const SPAN = ['startS', 'endS'];
  let spec: ArtifactSpec;
  switch (name) {
    case 'baseline-wander':
      allowed(['amplitude', 'freqHz', ...SPAN]);
      spec = { kind: name, amplitude: params['amplitude'] ?? 0.3, ...opt('freqHz'), ...sp };
      break;
    case 'powerline': {
      allowed(['amplitude', 'freqHz', ...SPAN]);
      const f = params['freqHz'] ?? 50;
      if (f !== 50 && f !== 60) throw new SimulatorError('BAD_ARTIFACT', 'powerline freqHz must be 50 or 60');
      spec = { kind: name, amplitude: params['amplitude'] ?? 0.05, freqHz: f, ...sp };
      break;
    }
    case 'noise':
    case 'gaussian-noise':
      allowed(['sd', 'snrDb', ...SPAN]);
      spec =
        params['sd'] === undefined && params['snrDb'] === undefined
          ? { kind: 'gaussian-noise', snrDb: 20, ...sp }
          : { kind: 'gaussian-noise', ...opt('sd'), ...opt('snrDb'), ...sp };
      break;
    case 'motion':
      allowed(['amplitude', 'burstsPerMin', ...SPAN]);
      spec = { kind: name, amplitude: params['amplitude'] ?? 0.5, ...opt('burstsPerMin'), ...sp };
      break;
    case 'gain-change':
    case 'gain':
      allowed(['factor', ...SPAN]);
      spec = { kind: 'gain-change', factor: params['factor'] ?? 1.5, ...sp };
      break;
    case 'clipping':
    case 'saturation': {
      allowed(['min', 'max', 'limit']);
      const limit = params['limit'];
      const min = params['min'] ?? (limit === undefined ? undefined : -limit);
      const max = params['max'] ?? limit;
      if (min === undefined || max === undefined) {
        throw new SimulatorError('BAD_ARTIFACT', 'clipping needs limit=L or both min= and max=');
      }
      spec = { kind: 'clipping', min, max };
      break;
    }
    case 'flatline':
      allowed(SPAN);
      spec = { kind: name, ...sp };
      break;
    case 'lead-off':
      allowed(['value', ...SPAN]);
      spec = { kind: name, ...opt('value'), ...sp };
      break;
    case 'dropout':
      allowed(['perMin', 'meanDurationS', ...SPAN]);
      spec = { kind: name, ...opt('perMin'), ...opt('meanDurationS'), ...sp };
      break;
    case 'rate-mismatch':
      allowed(['epsilon']);
      spec = { kind: name, epsilon: params['epsilon'] ?? 0.01 };
      break;
    default:
      throw new SimulatorError(
        'BAD_ARTIFACT',
        `unknown artifact "${name}" (expected baseline-wander, powerline, noise, motion, gain-change, clipping, flatline, lead-off, dropout, rate-mismatch)`,
      );
  }
  validate(spec);
  return spec;
}
