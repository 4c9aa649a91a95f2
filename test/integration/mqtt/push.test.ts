// Update delivery over a real broker (both brokers): a 300 KB bundle pushed to two devices, one of
// which gets a corrupted chunk stream; a device restarted mid-transfer completes without starting
// over; and the `vigil push` command end to end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { connectOperator, parseTransferTopic } from '../../../monitor/mqtt/index.ts';
import { UpdateSender, decodeChunk } from '../../../monitor/updates/index.ts';
import type { SenderTransport } from '../../../monitor/updates/index.ts';
import { CliError } from '../../../scripts/cli/cli-error.ts';
import { registerPush } from '../../../scripts/cli/push.ts';
import { BROKERS } from './brokers.ts';
import { startDevice, testBundle } from './devices.ts';
import type { TestDevice } from './devices.ts';
import { waitUntil } from './receiver.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const FLEET = 'ward-3';
const BUNDLE = testBundle(300 * 1024, 42);
const CHUNK = 16 * 1024;

async function devices(url: string, names: readonly string[]): Promise<TestDevice[]> {
  const out: TestDevice[] = [];
  for (const name of names) {
    const d = await startDevice({ url, fleet: FLEET, name });
    cleanups.push(() => d.stop());
    out.push(d);
  }
  return out;
}

const stagedLeft = (d: TestDevice) =>
  fs.readdirSync(path.join(d.dir, 'staging')).filter((n) => n !== 'done.json');

describe.each(BROKERS)('vigil push over $name', ({ start }) => {
  it('installs on one device and rejects a corrupted chunk stream on the other', async () => {
    const broker = await start();
    cleanups.push(() => broker.stop());
    const [good, bad] = await devices(broker.url, ['bedside-1', 'bedside-2']);
    const op = await connectOperator({ url: broker.url });
    cleanups.push(() => op.end());
    // Corrupt one chunk on its way to bedside-2 only (a flipped bit in the data, hash header intact).
    const transport: SenderTransport = {
      subscribe: (filters, handler) => op.subscribe(filters, handler),
      publish: (topic, payload) => {
        const t = parseTransferTopic(topic);
        if (
          t?.scope.kind === 'device' &&
          t.scope.device === 'bedside-2' &&
          t.part.kind === 'chunk' &&
          t.part.index === 7
        ) {
          const copy = Uint8Array.from(payload);
          const at = payload.length - decodeChunk(payload).data.length + 100;
          copy[at] = (copy[at] ?? 0) ^ 0x10;
          return op.publish(topic, copy);
        }
        return op.publish(topic, payload);
      },
    };
    const result = await new UpdateSender(transport, {
      fleet: FLEET,
      target: { kind: 'devices', devices: ['bedside-1', 'bedside-2'] },
      file: BUNDLE,
      name: 'afib-1.3.0.vbundle',
      chunkBytes: CHUNK,
      retryMs: 2000,
      timeoutMs: 30_000,
    }).run();

    expect(result.ok).toBe(false);
    expect(result.timedOut).toBe(false);
    const byName = Object.fromEntries(result.devices.map((d) => [d.device, d]));
    expect(byName['bedside-1']).toMatchObject({ state: 'installed', ok: true });
    expect(byName['bedside-2']).toMatchObject({
      state: 'rejected',
      code: 'CHUNK_DIGEST_MISMATCH',
      ok: false,
    });
    expect(good?.installed).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(good?.installed[0] ?? []), Buffer.from(BUNDLE))).toBe(0);
    expect(bad?.installed).toHaveLength(0);
    expect(stagedLeft(good as TestDevice)).toEqual([]);
    expect(stagedLeft(bad as TestDevice)).toEqual([]);
  });

  it('resumes a transfer after the device restarts mid-stream, without starting over', async () => {
    const broker = await start();
    cleanups.push(() => broker.stop());
    const [dev] = await devices(broker.url, ['bedside-9']);
    const d = dev as TestDevice;
    const restart: { done: Promise<void> | null } = { done: null };
    let resumedWith = -1;
    d.onChunk = (n) => {
      if (n === 6 && restart.done === null) {
        restart.done = (async () => {
          await new Promise((r) => setImmediate(r));
          await d.restart();
          resumedWith = d.receiver.transfers()[0]?.receivedChunks ?? -1;
        })();
      }
    };
    const op = await connectOperator({ url: broker.url });
    cleanups.push(() => op.end());
    const statuses: string[] = [];
    const needs: (readonly (readonly [number, number])[])[] = [];
    const result = await new UpdateSender(
      op,
      {
        fleet: FLEET,
        target: { kind: 'devices', devices: ['bedside-9'] },
        file: BUNDLE,
        name: 'afib-1.3.0.vbundle',
        chunkBytes: CHUNK,
        retryMs: 1500,
        timeoutMs: 30_000,
      },
      {
        onEvent: (e) => {
          if (e.kind !== 'status') return;
          statuses.push(e.status.status);
          if (e.status.need) needs.push(e.status.need);
        },
      },
    ).run();
    await restart.done;
    expect(result.ok).toBe(true);
    expect(d.installed).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(d.installed[0] ?? []), Buffer.from(BUNDLE))).toBe(0);
    // The restarted instance found the chunks already on disk, and never asked for them again.
    expect(resumedWith).toBeGreaterThanOrEqual(5);
    expect(needs.length).toBeGreaterThan(0);
    for (const ranges of needs) for (const [a] of ranges) expect(a).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(1);
  });

  it('runs `vigil push` to a whole fleet cohort and exits 0; a rejecting device makes it exit 3', async () => {
    const broker = await start();
    cleanups.push(() => broker.stop());
    const names = ['cohort-a1', 'cohort-a2'];
    for (const name of names) {
      const d = await startDevice({ url: broker.url, fleet: FLEET, name, cohort: 'night' });
      cleanups.push(() => d.stop());
    }
    const other = await startDevice({ url: broker.url, fleet: FLEET, name: 'day-1', cohort: 'day' });
    cleanups.push(() => other.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-push-cli-'));
    cleanups.push(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const file = path.join(dir, 'afib-1.3.0.vbundle');
    fs.writeFileSync(file, BUNDLE);

    const run = async (args: string[]): Promise<{ code: number; out: string }> => {
      const program = new Command('vigil').exitOverride();
      registerPush(program);
      let out = '';
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = (chunk: string | Uint8Array) => {
        out += String(chunk);
        return true;
      };
      try {
        await program.parseAsync(['push', file, '--mqtt', broker.url, ...args], { from: 'user' });
        return { code: 0, out };
      } catch (error) {
        if (error instanceof CliError) return { code: error.exitCode, out };
        if (error instanceof CommanderError) return { code: error.exitCode, out };
        throw error;
      } finally {
        process.stdout.write = write;
      }
    };

    const ok = await run([
      '--fleet',
      FLEET,
      '--cohort',
      'night',
      '--chunk-bytes',
      '32768',
      '--discovery',
      '300',
      '--json',
      '--no-progress',
    ]);
    expect(ok.code).toBe(0);
    const summary = JSON.parse(ok.out) as { ok: boolean; devices: { device: string; state: string }[] };
    expect(summary.ok).toBe(true);
    expect(summary.devices.map((d) => [d.device, d.state]).sort()).toEqual([
      ['cohort-a1', 'installed'],
      ['cohort-a2', 'installed'],
    ]);
    expect(other.installed).toHaveLength(0);

    const small = await startDevice({
      url: broker.url,
      fleet: FLEET,
      name: 'tiny-1',
      limits: { maxTransferBytes: 100_000 },
    });
    cleanups.push(() => small.stop());
    const rejected = await run(['--device', `${FLEET}/tiny-1`, '--json', '--no-progress']);
    expect(rejected.code).toBe(3);
    expect(JSON.parse(rejected.out)).toMatchObject({
      ok: false,
      devices: [{ device: 'tiny-1', state: 'rejected', code: 'TRANSFER_TOO_LARGE' }],
    });
    await waitUntil(() => small.installed.length === 0, 10, 'nothing installed');
  });
});
