// Streaming change detection on a sequence of values (per-window score, per-interval score mean, or a
// 0/1 quality-failure indicator). State is a plain object so a device can persist it across restarts
// and a collector can keep one per stream. Thresholds come from changeCalibration.ts.
//
// Page–Hinkley (Page 1954; Hinkley 1971), increase side: m_t = Σ_{i≤t} (x_i − x̄_i − δ), M_t = min_{i≤t} m_i,
// alarm when m_t − M_t > λ; the decrease side mirrors it with +δ and the running maximum. x̄_i is the
// running mean since the last reset, or a fixed reference mean.
// Tabular CUSUM (Page 1954; Montgomery, Introduction to SQC, §9.1): S⁺_t = max(0, S⁺_{t−1} + x_t − μ0 − k),
// S⁻_t = max(0, S⁻_{t−1} + μ0 − k − x_t), alarm when S > h.
// Both reset after an alarm, so alarms are separate events and "false alarms per 10k windows" is a
// renewal rate.
import { StatsError } from './errors.ts';

export type ChangeDirection = 'up' | 'down' | 'both';
export type ChangeSignal = 'none' | 'up' | 'down';

export type PageHinkleyBaseline =
  { readonly kind: 'running' } | { readonly kind: 'reference'; readonly mean: number };

export interface PageHinkleyConfig {
  /** Magnitude of change tolerated without accumulating evidence (≥ 0, units of x). */
  readonly delta: number;
  /** Alarm threshold λ (> 0, units of x), chosen by calibratePageHinkley. */
  readonly lambda: number;
  readonly direction: ChangeDirection;
  readonly baseline: PageHinkleyBaseline;
  /** No alarm before this many values since the last reset (lets a running mean settle); ≥ 1. */
  readonly minSamples: number;
}

export interface PageHinkleyState {
  readonly kind: 'page-hinkley';
  readonly count: number;
  readonly mean: number;
  readonly up: number;
  readonly upMin: number;
  readonly down: number;
  readonly downMax: number;
}

export interface CusumConfig {
  /** In-control mean μ0. */
  readonly target: number;
  /** Allowance k ≥ 0 (typically half the shift to detect). */
  readonly k: number;
  /** Decision interval h > 0, chosen by calibrateCusum. */
  readonly h: number;
  readonly direction: ChangeDirection;
}

export interface CusumState {
  readonly kind: 'cusum';
  readonly count: number;
  readonly high: number;
  readonly low: number;
}

function finite(x: number, what: string, code: 'BAD_ARGUMENT' | 'BAD_STATE' = 'BAD_ARGUMENT'): number {
  if (typeof x !== 'number' || !Number.isFinite(x))
    throw new StatsError(code, `${what} must be a finite number`);
  return x;
}

function checkDirection(direction: unknown): ChangeDirection {
  if (direction === 'up' || direction === 'down' || direction === 'both') return direction;
  throw new StatsError('BAD_ARGUMENT', 'direction must be up, down or both');
}

export function validatePageHinkleyConfig(config: PageHinkleyConfig): PageHinkleyConfig {
  if (!(finite(config.delta, 'delta') >= 0)) throw new StatsError('BAD_ARGUMENT', 'delta must be >= 0');
  if (!(finite(config.lambda, 'lambda') > 0)) throw new StatsError('BAD_ARGUMENT', 'lambda must be > 0');
  checkDirection(config.direction);
  if (!Number.isInteger(config.minSamples) || config.minSamples < 1) {
    throw new StatsError('BAD_ARGUMENT', 'minSamples must be an integer >= 1');
  }
  switch (config.baseline.kind) {
    case 'running':
      break;
    case 'reference':
      finite(config.baseline.mean, 'baseline mean');
      break;
  }
  return config;
}

export function validateCusumConfig(config: CusumConfig): CusumConfig {
  finite(config.target, 'target');
  if (!(finite(config.k, 'k') >= 0)) throw new StatsError('BAD_ARGUMENT', 'k must be >= 0');
  if (!(finite(config.h, 'h') > 0)) throw new StatsError('BAD_ARGUMENT', 'h must be > 0');
  checkDirection(config.direction);
  return config;
}

function stateObject(raw: unknown, kind: string, fields: readonly string[]): Record<string, number> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new StatsError('BAD_STATE', 'state must be an object');
  }
  const o = raw as Record<string, unknown>;
  if (o.kind !== kind) throw new StatsError('BAD_STATE', `state kind must be ${kind}`);
  for (const key of Object.keys(o)) {
    if (key !== 'kind' && !fields.includes(key))
      throw new StatsError('BAD_STATE', `unknown state field ${key}`);
  }
  const out: Record<string, number> = {};
  for (const f of fields) out[f] = finite(o[f] as number, `state.${f}`, 'BAD_STATE');
  const count = out.count ?? Number.NaN;
  if (!Number.isSafeInteger(count) || count < 0)
    throw new StatsError('BAD_STATE', 'state.count must be an integer >= 0');
  return out;
}

export class PageHinkley {
  readonly config: PageHinkleyConfig;
  private count = 0;
  private mean = 0;
  private up = 0;
  private upMin = 0;
  private down = 0;
  private downMax = 0;

  constructor(config: PageHinkleyConfig) {
    this.config = validatePageHinkleyConfig(config);
  }

  /** Restores a detector from a persisted state (parsed field by field: it may come from disk). */
  static restore(config: PageHinkleyConfig, raw: unknown): PageHinkley {
    const s = stateObject(raw, 'page-hinkley', ['count', 'mean', 'up', 'upMin', 'down', 'downMax']);
    if ((s.upMin as number) > (s.up as number) || (s.downMax as number) < (s.down as number)) {
      throw new StatsError('BAD_STATE', 'page-hinkley extrema are inconsistent');
    }
    const detector = new PageHinkley(config);
    detector.count = s.count as number;
    detector.mean = s.mean as number;
    detector.up = s.up as number;
    detector.upMin = s.upMin as number;
    detector.down = s.down as number;
    detector.downMax = s.downMax as number;
    return detector;
  }

  state(): PageHinkleyState {
    return {
      kind: 'page-hinkley',
      count: this.count,
      mean: this.mean,
      up: this.up,
      upMin: this.upMin,
      down: this.down,
      downMax: this.downMax,
    };
  }

  /** Current test statistics m_t − M_t (increase) and max − m_t (decrease). */
  statistics(): { readonly up: number; readonly down: number } {
    return { up: this.up - this.upMin, down: this.downMax - this.down };
  }

  reset(): void {
    this.count = 0;
    this.mean = 0;
    this.up = 0;
    this.upMin = 0;
    this.down = 0;
    this.downMax = 0;
  }

  update(x: number): ChangeSignal {
    if (!Number.isFinite(x)) throw new StatsError('BAD_ARGUMENT', 'change detection needs finite values');
    const c = this.config;
    this.count++;
    let centre: number;
    if (c.baseline.kind === 'running') {
      this.mean += (x - this.mean) / this.count;
      centre = this.mean;
    } else {
      centre = c.baseline.mean;
    }
    const deviation = x - centre;
    this.up += deviation - c.delta;
    if (this.up < this.upMin) this.upMin = this.up;
    this.down += deviation + c.delta;
    if (this.down > this.downMax) this.downMax = this.down;
    if (this.count < c.minSamples) return 'none';
    let signal: ChangeSignal = 'none';
    if (c.direction !== 'down' && this.up - this.upMin > c.lambda) signal = 'up';
    else if (c.direction !== 'up' && this.downMax - this.down > c.lambda) signal = 'down';
    if (signal !== 'none') this.reset();
    return signal;
  }
}

export class Cusum {
  readonly config: CusumConfig;
  private count = 0;
  private high = 0;
  private low = 0;

  constructor(config: CusumConfig) {
    this.config = validateCusumConfig(config);
  }

  static restore(config: CusumConfig, raw: unknown): Cusum {
    const s = stateObject(raw, 'cusum', ['count', 'high', 'low']);
    if ((s.high as number) < 0 || (s.low as number) < 0)
      throw new StatsError('BAD_STATE', 'CUSUM sums must be >= 0');
    const detector = new Cusum(config);
    detector.count = s.count as number;
    detector.high = s.high as number;
    detector.low = s.low as number;
    return detector;
  }

  state(): CusumState {
    return { kind: 'cusum', count: this.count, high: this.high, low: this.low };
  }

  statistics(): { readonly up: number; readonly down: number } {
    return { up: this.high, down: this.low };
  }

  reset(): void {
    this.count = 0;
    this.high = 0;
    this.low = 0;
  }

  update(x: number): ChangeSignal {
    if (!Number.isFinite(x)) throw new StatsError('BAD_ARGUMENT', 'change detection needs finite values');
    const c = this.config;
    this.count++;
    this.high = Math.max(0, this.high + x - c.target - c.k);
    this.low = Math.max(0, this.low + c.target - c.k - x);
    let signal: ChangeSignal = 'none';
    if (c.direction !== 'down' && this.high > c.h) signal = 'up';
    else if (c.direction !== 'up' && this.low > c.h) signal = 'down';
    if (signal !== 'none') this.reset();
    return signal;
  }
}
