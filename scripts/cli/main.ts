// Entry of the `vigil` command: one file per command group registers its subcommands here.
import { Command, CommanderError } from 'commander';
import { COMMAND_GROUPS } from './groups.ts';
import { CliError } from './cli-error.ts';

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('vigil')
    .description('Vigil: signed, gated, audited on-device inference for medical wearables')
    .exitOverride()
    .showHelpAfterError();
  for (const register of COMMAND_GROUPS) register(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode;
    }
    if (err instanceof CliError) {
      process.stderr.write(`vigil: ${err.code}: ${err.message}\n`);
      return err.exitCode;
    }
    const coded = err as { code?: unknown; message?: unknown };
    if (err instanceof Error && typeof coded.code === 'string') {
      process.stderr.write(`vigil: ${coded.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
