// Second-order sections (biquads): causal filtering, steady-state initial conditions and the
// forward-backward (zero-phase) filter. Semantics follow scipy.signal.sosfilt / sosfilt_zi /
// sosfiltfilt (transposed direct form II, odd padding), so golden vectors from SciPy apply.
// Hot numeric loops: plain indexed Float64Array access, no allocation inside.

/** Sections packed as [b0, b1, b2, a0(=1), a1, a2] per section. */
export type Sos = Float64Array;

export function sectionCount(sos: Sos): number {
  return sos.length / 6;
}

/**
 * Steady-state initial conditions for a unit step (scipy.signal.sosfilt_zi): per section,
 * z = (I - Aᵀ)⁻¹ (b[1:] - a[1:]·b0), scaled by the DC gain of the sections before it.
 */
export function sosInitialState(sos: Sos): Float64Array {
  const n = sectionCount(sos);
  const zi = new Float64Array(2 * n);
  let scale = 1;
  for (let s = 0; s < n; s++) {
    const o = 6 * s;
    const b0 = sos[o] ?? 0;
    const b1 = sos[o + 1] ?? 0;
    const b2 = sos[o + 2] ?? 0;
    const a1 = sos[o + 4] ?? 0;
    const a2 = sos[o + 5] ?? 0;
    const r0 = b1 - a1 * b0;
    const r1 = b2 - a2 * b0;
    // Solve [[1 + a1, -1], [a2, 1]] z = [r0, r1].
    const z0 = (r0 + r1) / (1 + a1 + a2);
    const z1 = r1 - a2 * z0;
    zi[2 * s] = scale * z0;
    zi[2 * s + 1] = scale * z1;
    scale *= (b0 + b1 + b2) / (1 + a1 + a2);
  }
  return zi;
}

/**
 * Filters buf[start, end) in place, forward (dir = 1) or backward (dir = -1), section after
 * section. Initial state per section is zi·x0 (zi = null: zero state).
 */
export function sosRun(
  sos: Sos,
  buf: Float64Array,
  start: number,
  end: number,
  dir: 1 | -1,
  zi: Float64Array | null,
  x0: number,
): void {
  const n = sectionCount(sos);
  for (let s = 0; s < n; s++) {
    const o = 6 * s;
    const b0 = sos[o] ?? 0;
    const b1 = sos[o + 1] ?? 0;
    const b2 = sos[o + 2] ?? 0;
    const a1 = sos[o + 4] ?? 0;
    const a2 = sos[o + 5] ?? 0;
    let z0 = zi === null ? 0 : (zi[2 * s] ?? 0) * x0;
    let z1 = zi === null ? 0 : (zi[2 * s + 1] ?? 0) * x0;
    if (dir === 1) {
      for (let i = start; i < end; i++) {
        const x = buf[i] ?? 0;
        const y = b0 * x + z0;
        z0 = b1 * x - a1 * y + z1;
        z1 = b2 * x - a2 * y;
        buf[i] = y;
      }
    } else {
      for (let i = end - 1; i >= start; i--) {
        const x = buf[i] ?? 0;
        const y = b0 * x + z0;
        z0 = b1 * x - a1 * y + z1;
        z1 = b2 * x - a2 * y;
        buf[i] = y;
      }
    }
  }
}

/** scipy.signal.sosfiltfilt's default pad length: 3·(2·sections + 1 − trailing-zero coefficients). */
export function sosPadLength(sos: Sos): number {
  const n = sectionCount(sos);
  let zb = 0;
  let za = 0;
  for (let s = 0; s < n; s++) {
    if (sos[6 * s + 2] === 0) zb++;
    if (sos[6 * s + 5] === 0) za++;
  }
  return 3 * (2 * n + 1 - Math.min(zb, za));
}

/** A prepared biquad cascade with its scratch, for one channel at a time. */
export class SosFilter {
  private readonly zi: Float64Array;
  private readonly padLen: number;
  private ext = new Float64Array(0);

  constructor(readonly sos: Sos) {
    this.zi = sosInitialState(sos);
    this.padLen = sosPadLength(sos);
  }

  /** Causal filter; `steady` starts from the steady state for x[0] (scipy: zi = sosfilt_zi·x[0]). */
  causal(x: Float64Array, out: Float64Array, steady: boolean): void {
    out.set(x);
    if (x.length === 0) return;
    sosRun(this.sos, out, 0, out.length, 1, steady ? this.zi : null, x[0] ?? 0);
  }

  /**
   * Zero-phase forward-backward filter with odd extension (scipy.signal.sosfiltfilt, padtype
   * 'odd'). For windows shorter than SciPy's pad length the pad shrinks to n − 1 samples
   * (SciPy raises instead).
   */
  zeroPhase(x: Float64Array, out: Float64Array): void {
    const n = x.length;
    if (n === 0) return;
    const edge = Math.min(this.padLen, n - 1);
    const m = n + 2 * edge;
    if (this.ext.length < m) this.ext = new Float64Array(m);
    const e = this.ext;
    const first = x[0] ?? 0;
    const last = x[n - 1] ?? 0;
    for (let i = 0; i < edge; i++) e[i] = 2 * first - (x[edge - i] ?? 0);
    e.set(x, edge);
    for (let j = 0; j < edge; j++) e[n + edge + j] = 2 * last - (x[n - 2 - j] ?? 0);
    sosRun(this.sos, e, 0, m, 1, this.zi, e[0] ?? 0);
    sosRun(this.sos, e, 0, m, -1, this.zi, e[m - 1] ?? 0);
    out.set(e.subarray(edge, edge + n));
  }
}
