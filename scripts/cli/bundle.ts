import type { Command } from 'commander';

/** Registers the `vigil bundle` command group (filled in by its issue). */
export function registerBundle(_program: Command): void {
  // no subcommands yet
}
