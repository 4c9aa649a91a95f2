// `vigil bridge probe` against a bridge server (fake runtime), through commander as the CLI runs it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startBridgeServer } from '../../../firmware-bridge/server/index.ts';
import { registerBridge } from '../../../scripts/cli/bridge.ts';
import { CliError } from '../../../scripts/cli/cli-error.ts';
import { FakeRuntime } from '../../unit/firmware-bridge/helpers.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

async function run(args: string[]): Promise<string> {
  const program = new Command('vigil').exitOverride();
  registerBridge(program);
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    vi.restoreAllMocks();
  }
  return out;
}

describe('vigil bridge probe', () => {
  it('reports the runtime, the limits and the models, as text and as JSON', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bridge-cli-'));
    const socket = path.join(dir, 'b.sock');
    const server = await startBridgeServer({
      runtime: new FakeRuntime(),
      transports: [
        { kind: 'unix', path: socket },
        { kind: 'tcp', host: '127.0.0.1', port: 0 },
      ],
    });
    try {
      const text = await run(['bridge', 'probe', '--socket', socket]);
      expect(text).toMatch(/^runtime gateway-fake \(vigil 0\.1\.0\), protocol 1, round trip \d+\.\d+ ms$/m);
      expect(text).toContain('credits=64');
      expect(text).toContain('model fake: fake@1 v1.0.0 seq 1 (ecg, node)');
      const tcp = server.addresses.find((a) => a.kind === 'tcp');
      const json = JSON.parse(
        await run(['bridge', 'probe', '--tcp', `127.0.0.1:${tcp?.kind === 'tcp' ? tcp.port : 0}`, '--json']),
      ) as { protocolVersion: number; runtime: { deviceId: string }; device: string };
      expect(json.protocolVersion).toBe(1);
      expect(json.runtime.deviceId).toBe('gateway-fake');
      expect(json.device).toMatch(/^vigil-probe-\d+$/);
    } finally {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with a code when there is no runtime or the arguments are wrong', async () => {
    const code = async (args: string[]): Promise<string> => {
      try {
        await run(args);
        return 'ok';
      } catch (error) {
        return error instanceof CliError ? error.code : String(error);
      }
    };
    expect(await code(['bridge', 'probe', '--socket', '/nonexistent/vigil.sock'])).toBe('NOT_CONNECTED');
    expect(await code(['bridge', 'probe'])).toBe('BAD_ARGUMENT');
    expect(await code(['bridge', 'probe', '--tcp', 'nope'])).toBe('BAD_ARGUMENT');
  });
});
