// Opens the lifecycle on a data directory the test made unwritable and prints the outcome as JSON.
// Run as an unprivileged user when the test runs as root (root ignores permission bits).
import { Lifecycle } from '../../../runtime/lifecycle/index.ts';
import { DEVICE, TRUST } from '../../unit/runtime/lifecycle/helpers.ts';

const dataDir = process.argv[2] ?? '';
try {
  const lifecycle = await Lifecycle.open({ dataDir, device: DEVICE, trust: TRUST.bytes });
  await lifecycle.close();
  process.stdout.write(`${JSON.stringify({ opened: true })}\n`);
} catch (error) {
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  process.stdout.write(
    `${JSON.stringify({ opened: false, name: e.name, code: e.code, message: e.message })}\n`,
  );
}
