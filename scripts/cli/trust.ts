import type { Command } from 'commander';

/** Registers the `vigil trust` command group (filled in by its issue). */
export function registerTrust(_program: Command): void {
  // no subcommands yet
}
