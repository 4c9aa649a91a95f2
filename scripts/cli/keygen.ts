import type { Command } from 'commander';

/** Registers the `vigil keygen` command group (filled in by its issue). */
export function registerKeygen(_program: Command): void {
  // no subcommands yet
}
