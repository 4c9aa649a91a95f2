// Provenance helpers: dependency lock hash and source commit (manifest.ts `Provenance`).
// The file reader and command runner are injected so tests need neither a repo nor a lock file.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type ReadFile = (path: string) => Uint8Array;
/** Runs a program with arguments and returns its stdout; throws when it fails. */
export type CommandRunner = (command: string, args: readonly string[]) => string;

export const defaultReadFile: ReadFile = (path) => readFileSync(path);

export const defaultCommandRunner: CommandRunner = (command, args) =>
  execFileSync(command, [...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 10_000,
  });

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 (lower-case hex) of the dependency lock file, e.g. package-lock.json. */
export function dependencyLockSha256(lockPath: string, readFile: ReadFile = defaultReadFile): string {
  return sha256Hex(readFile(lockPath));
}

export const UNKNOWN_COMMIT = 'unknown';

/** `git rev-parse HEAD` (40 lower-case hex digits), or 'unknown' when git or the repository is missing. */
export function sourceCommit(run: CommandRunner = defaultCommandRunner, cwd?: string): string {
  try {
    const args = cwd === undefined ? ['rev-parse', 'HEAD'] : ['-C', cwd, 'rev-parse', 'HEAD'];
    const out = run('git', args).trim().toLowerCase();
    return /^[0-9a-f]{40}$/.test(out) ? out : UNKNOWN_COMMIT;
  } catch {
    return UNKNOWN_COMMIT;
  }
}
