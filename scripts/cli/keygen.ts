// `vigil keygen --role ROLE --id KID --out DIR`: a new Ed25519 key pair as DIR/KID.key (secret, 0600)
// and DIR/KID.pub. Logic lives in models/format/keyfile.ts.
import type { Command } from 'commander';
import { KEY_ROLES, bytesToHex, generateKey, isKeyRole, writeKeyFiles } from '../../models/format/index.ts';
import { CliError } from './cli-error.ts';

interface KeygenOptions {
  readonly role: string;
  readonly id: string;
  readonly out: string;
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('create an Ed25519 key pair for a role (secret key file mode 0600)')
    .requiredOption('--role <role>', `one of ${KEY_ROLES.join(', ')}`)
    .requiredOption('--id <kid>', 'key id, e.g. qa-alice-2026')
    .requiredOption('--out <dir>', 'directory for KID.key and KID.pub')
    .action(async (options: KeygenOptions) => {
      if (!isKeyRole(options.role)) {
        throw new CliError('BAD_ARGUMENT', `--role must be one of ${KEY_ROLES.join(', ')}`);
      }
      const key = generateKey(options.id, options.role);
      const paths = await writeKeyFiles(options.out, key);
      process.stdout.write(
        `${options.role} key ${key.kid}\n` +
          `  secret  ${paths.secret} (mode 0600: keep it offline; never share it)\n` +
          `  public  ${paths.public}\n` +
          `  Ed25519 public key ${bytesToHex(key.publicKey)}\n`,
      );
    });
}
