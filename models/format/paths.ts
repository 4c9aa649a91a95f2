// File paths inside a bundle. They become file names on the device, so they are held to a small,
// portable grammar: relative, '/'-separated, each segment [A-Za-z0-9_-] with inner dots, no '.' or
// '..' segments, no backslashes, no absolute or drive paths, at most 4 segments and 255 characters.
import { BundleError } from './errors.ts';

const SEGMENT = /^[A-Za-z0-9_-](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9_-])?$/;
export const MAX_PATH_CHARS = 255;
export const MAX_PATH_SEGMENTS = 4;

/** Why `path` is not an acceptable bundle path, or null when it is. */
export function pathProblem(path: string): string | null {
  if (path.length === 0) return 'is empty';
  if (path.length > MAX_PATH_CHARS) return `is longer than ${MAX_PATH_CHARS} characters`;
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(path)) return 'names a drive';
  const segments = path.split('/');
  if (segments.length > MAX_PATH_SEGMENTS) return `has more than ${MAX_PATH_SEGMENTS} segments`;
  for (const segment of segments) {
    if (segment === '..') return "climbs out of the bundle ('..')";
    if (segment === '.' || segment === '') return 'has an empty or "." segment';
    if (!SEGMENT.test(segment))
      return `has a segment with characters outside [A-Za-z0-9._-]: ${JSON.stringify(segment)}`;
    if (segment.includes('..')) return "contains '..'";
  }
  return null;
}

export function checkBundlePath(path: string, where: string): void {
  const problem = pathProblem(path);
  if (problem !== null)
    throw new BundleError('BAD_PATH', `${where}: the path ${JSON.stringify(path)} ${problem}`);
}

/**
 * Rejects two paths that name the same file on a case-insensitive file system, and a path that
 * would have to be both a file and a directory (`a` and `a/b`).
 */
export function checkUniquePaths(paths: readonly string[], where: string): void {
  const seen = new Set<string>();
  const dirs = new Set<string>();
  for (const path of paths) {
    const folded = path.toLowerCase();
    if (seen.has(folded)) {
      throw new BundleError('DUPLICATE_PATH', `${where}: the path ${JSON.stringify(path)} appears twice`);
    }
    seen.add(folded);
    const segments = folded.split('/');
    for (let i = 1; i < segments.length; i++) dirs.add(segments.slice(0, i).join('/'));
  }
  for (const path of paths) {
    if (dirs.has(path.toLowerCase())) {
      throw new BundleError(
        'DUPLICATE_PATH',
        `${where}: ${JSON.stringify(path)} is both a file and a directory`,
      );
    }
  }
}
