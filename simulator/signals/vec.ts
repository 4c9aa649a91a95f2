// Small 3-D vector helpers for orientation (plain tuples; no allocation-free tricks needed here).
export type Vec3 = readonly [number, number, number];
/** Row-major 3x3 matrix: rows are the device axes expressed in body coordinates. */
export type Mat3 = readonly [Vec3, Vec3, Vec3];

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function norm(a: Vec3): number {
  return Math.sqrt(dot(a, a));
}

export function scale(a: Vec3, k: number): Vec3 {
  return [a[0] * k, a[1] * k, a[2] * k];
}

export function add(a: Vec3, b: Vec3): Vec3 {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

export function normalize(a: Vec3): Vec3 {
  const n = norm(a);
  return n === 0 ? [0, 0, 1] : scale(a, 1 / n);
}

export function angleBetween(a: Vec3, b: Vec3): number {
  const c = dot(normalize(a), normalize(b));
  return Math.acos(Math.min(1, Math.max(-1, c)));
}

/** Rodrigues rotation of v about unit axis k by angle (radians). */
export function rotateAbout(v: Vec3, k: Vec3, angle: number): Vec3 {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const kxv = cross(k, v);
  const kv = dot(k, v) * (1 - c);
  return [
    v[0] * c + kxv[0] * s + k[0] * kv,
    v[1] * c + kxv[1] * s + k[1] * kv,
    v[2] * c + kxv[2] * s + k[2] * kv,
  ];
}

/** Spherical interpolation between unit vectors a and b, s in [0, 1]. */
export function slerp(a: Vec3, b: Vec3, s: number): Vec3 {
  const omega = angleBetween(a, b);
  if (omega < 1e-6) return a;
  let axis = cross(a, b);
  if (norm(axis) < 1e-9) axis = Math.abs(a[0]) < 0.9 ? cross(a, [1, 0, 0]) : cross(a, [0, 1, 0]);
  return normalize(rotateAbout(a, normalize(axis), omega * s));
}

export function matVec(m: Mat3, v: Vec3): Vec3 {
  return [dot(m[0], v), dot(m[1], v), dot(m[2], v)];
}

/** Rotates every row (device axis) of m about body axis k: a small mounting perturbation. */
export function rotateRows(m: Mat3, k: Vec3, angle: number): Mat3 {
  return [rotateAbout(m[0], k, angle), rotateAbout(m[1], k, angle), rotateAbout(m[2], k, angle)];
}

/** Raised-cosine ramp 0 -> 1 over [0, 1] (clamped outside). */
export function smoothstep(s: number): number {
  if (s <= 0) return 0;
  if (s >= 1) return 1;
  return 0.5 - 0.5 * Math.cos(Math.PI * s);
}
