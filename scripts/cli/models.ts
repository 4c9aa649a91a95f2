import type { Command } from 'commander';

/** Registers the `vigil models` command group (filled in by its issue). */
export function registerModels(_program: Command): void {
  // no subcommands yet
}
