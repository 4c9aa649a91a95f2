import type { Command } from 'commander';

/** Registers the `vigil simulate` command group (filled in by its issue). */
export function registerSimulate(_program: Command): void {
  // no subcommands yet
}
