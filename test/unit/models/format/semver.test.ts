import { describe, expect, it } from 'vitest';
import { compareSemVer, inRange, isSemVer, parseSemVer } from '../../../../models/format/index.ts';

const cmp = (a: string, b: string): number => {
  const x = parseSemVer(a);
  const y = parseSemVer(b);
  if (x === null || y === null) throw new Error('not semver');
  return Math.sign(compareSemVer(x, y));
};

describe('semver 2.0', () => {
  it('parses valid versions and refuses invalid ones', () => {
    for (const v of ['0.1.0', '1.2.3', '1.0.0-alpha.1', '1.0.0+build.5', '10.20.30-rc.1+x'])
      expect(isSemVer(v)).toBe(true);
    for (const v of ['1.2', '01.2.3', '1.2.3-', '1.2.3-01', 'v1.2.3', '1.2.3 ', ''])
      expect(isSemVer(v)).toBe(false);
  });

  it('orders by precedence (§11), ignoring build metadata', () => {
    const ordered = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.1.0',
      '2.0.0',
    ];
    for (let i = 1; i < ordered.length; i++) expect(cmp(ordered[i - 1] ?? '', ordered[i] ?? '')).toBe(-1);
    expect(cmp('1.0.0+a', '1.0.0+b')).toBe(0);
  });

  it('checks half-open ranges', () => {
    expect(inRange('0.1.0', '0.1.0', '1.0.0')).toBe(true);
    expect(inRange('1.0.0', '0.1.0', '1.0.0')).toBe(false);
    expect(inRange('1.0.0-rc.1', '0.1.0', '1.0.0')).toBe(true);
    expect(inRange('0.0.9', '0.1.0', null)).toBe(false);
    expect(inRange('99.0.0', '0.1.0', null)).toBe(true);
    expect(inRange('junk', '0.1.0', null)).toBe(false);
  });
});
