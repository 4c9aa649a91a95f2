import type { Command } from 'commander';

/** Registers the `vigil demo` command group (filled in by its issue). */
export function registerDemo(_program: Command): void {
  // no subcommands yet
}
