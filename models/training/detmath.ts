// Deterministic elementary functions built only from IEEE-754 +, −, ×, ÷ (correctly rounded by
// ECMA-262 §6.1.6.1) and exact bit manipulation. ECMA-262 §21.3.2 lets Math.exp/log/tanh/pow be
// implementation-approximated, so training uses these instead: same inputs give the same bits on
// every conforming engine, not only on one V8 build. Accuracy is about 1 ulp, which is all a
// trainer needs; correct rounding is not the goal, reproducibility is.

// Cody–Waite split of ln 2 (the constants fdlibm uses): LN2_HI has its low 32 bits zero, so
// k * LN2_HI is exact for |k| < 2^20.
const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.442695040888963387;
const EXP_OVERFLOW = 709.782712893384;
const EXP_UNDERFLOW = -745.1332191019412;

const scratch = new DataView(new ArrayBuffer(8));

/** 2^k for an integer k in [-1022, 1023], built from its bit pattern (exact). */
function pow2(k: number): number {
  scratch.setUint32(0, (k + 1023) << 20, false);
  scratch.setUint32(4, 0, false);
  return scratch.getFloat64(0, false);
}

/** e^x. */
export function dexp(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x > EXP_OVERFLOW) return Number.POSITIVE_INFINITY;
  if (x < EXP_UNDERFLOW) return 0;
  const k = Math.round(x * INV_LN2); // Math.round is exact (ECMA-262 §21.3.2.28)
  const r = x - k * LN2_HI - k * LN2_LO; // |r| <= 0.3466
  // Taylor series of e^r to degree 13 (truncation < 5e-18), Horner form.
  let p = 1 / 6227020800;
  p = p * r + 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  p = p * r + 1;
  // Scale by 2^k in two exact steps so that k down to -1075 and up to 1024 stay representable.
  const k1 = k >> 1;
  return p * pow2(k1) * pow2(k - k1);
}

/** Natural logarithm. */
export function dlog(x: number): number {
  if (Number.isNaN(x) || x < 0) return Number.NaN;
  if (x === 0) return Number.NEGATIVE_INFINITY;
  if (x === Number.POSITIVE_INFINITY) return x;
  let e = 0;
  let v = x;
  if (v < 2.2250738585072014e-308) {
    v *= 18014398509481984; // 2^54: bring subnormals into the normal range (exact)
    e = -54;
  }
  scratch.setFloat64(0, v, false);
  const hi = scratch.getUint32(0, false);
  e += ((hi >>> 20) & 0x7ff) - 1023;
  // Mantissa m in [1, 2): same bits with the exponent set to 0.
  scratch.setUint32(0, (hi & 0x000fffff) | 0x3ff00000, false);
  let m = scratch.getFloat64(0, false);
  if (m > Math.SQRT2) {
    m *= 0.5; // exact
    e += 1;
  }
  // log m = 2 atanh(s), s = (m − 1)/(m + 1), |s| <= 0.1716; odd series to s^25.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let q = 1 / 25;
  q = q * s2 + 1 / 23;
  q = q * s2 + 1 / 21;
  q = q * s2 + 1 / 19;
  q = q * s2 + 1 / 17;
  q = q * s2 + 1 / 15;
  q = q * s2 + 1 / 13;
  q = q * s2 + 1 / 11;
  q = q * s2 + 1 / 9;
  q = q * s2 + 1 / 7;
  q = q * s2 + 1 / 5;
  q = q * s2 + 1 / 3;
  q = q * s2 + 1;
  return e * LN2_HI + (e * LN2_LO + 2 * s * q);
}

/** Hyperbolic tangent. */
export function dtanh(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const a = x < 0 ? -x : x;
  if (a > 22) return x < 0 ? -1 : 1; // tanh(22) rounds to 1 in float64
  const t = dexp(-2 * a);
  const y = (1 - t) / (1 + t);
  return x < 0 ? -y : y;
}

/** Logistic sigmoid 1/(1 + e^−z), written to avoid overflow for either sign. */
export function dsigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + dexp(-z));
  const e = dexp(z);
  return e / (1 + e);
}

/** log(1 + e^z) without overflow. */
export function dsoftplus(z: number): number {
  return (z > 0 ? z : 0) + dlog(1 + dexp(-(z < 0 ? -z : z)));
}
