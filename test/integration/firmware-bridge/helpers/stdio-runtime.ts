// A runtime that serves the bridge on its stdin/stdout, as when the firmware spawns it as a child
// process (`vigil bridge serve --stdio` will do the same). Nothing else may write to stdout.
import { startBridgeServer } from '../../../../firmware-bridge/server/index.ts';
import { createRealRuntime } from './real-runtime.ts';

const real = await createRealRuntime({ deviceId: 'gateway-child' });
const server = await startBridgeServer({
  runtime: real.runtime,
  transports: [{ kind: 'stdio', input: process.stdin, output: process.stdout }],
});
process.stdin.on('end', () => {
  void server
    .close()
    .then(() => real.close())
    .then(() => {
      process.stderr.write('stdio runtime: firmware closed stdin, exiting\n');
      process.exit(0);
    });
});
