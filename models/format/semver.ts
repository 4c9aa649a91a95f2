// Semantic Versioning 2.0.0: parsing (§2, §9, §10) and precedence (§11). Small enough to write here;
// runtime ranges are [minVersion, maxVersionExclusive).

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: readonly (string | number)[];
}

const NUMERIC = '0|[1-9]\\d*';
const IDENT = '(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)';
const SEMVER = new RegExp(
  `^(${NUMERIC})\\.(${NUMERIC})\\.(${NUMERIC})(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?$`,
);

/** The parsed version, or null when `text` is not a semantic version. */
export function parseSemVer(text: string): SemVer | null {
  if (text.length > 128) return null;
  const m = SEMVER.exec(text);
  if (!m) return null;
  const nums = [m[1], m[2], m[3]].map(Number);
  if (nums.some((n) => !Number.isSafeInteger(n))) return null;
  const prerelease =
    m[4] === undefined ? [] : m[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id));
  return { major: nums[0] ?? 0, minor: nums[1] ?? 0, patch: nums[2] ?? 0, prerelease };
}

export function isSemVer(text: string): boolean {
  return parseSemVer(text) !== null;
}

/** Negative when a < b, zero when equal in precedence, positive when a > b (build metadata ignored). */
export function compareSemVer(a: SemVer, b: SemVer): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return core;
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return b.prerelease.length - a.prerelease.length; // a release ranks above its pre-releases
  }
  const n = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < n; i++) {
    const x = a.prerelease[i] ?? 0;
    const y = b.prerelease[i] ?? 0;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return a.prerelease.length - b.prerelease.length;
}

/** Whether `version` lies in [min, maxExclusive) (maxExclusive null: no upper bound). */
export function inRange(version: string, min: string, maxExclusive: string | null): boolean {
  const v = parseSemVer(version);
  const lo = parseSemVer(min);
  if (v === null || lo === null) return false;
  if (compareSemVer(v, lo) < 0) return false;
  if (maxExclusive === null) return true;
  const hi = parseSemVer(maxExclusive);
  return hi !== null && compareSemVer(v, hi) < 0;
}
