import type { Command } from 'commander';

/** Every command group of the `vigil` CLI; each lives in its own file under scripts/cli/. */
export const COMMAND_GROUPS: readonly ((program: Command) => void)[] = [];
