// Device client against both brokers: retained birth/death state (graceful and Last Will), command
// delivery to the injected handler with the size cap and the typed error path, protocol level.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeviceClient,
  connectOperator,
  deviceCommandTopic,
  fleetCommandTopic,
  parseState,
} from '../../../monitor/mqtt/index.ts';
import type { MqttError, StatePayload } from '../../../monitor/mqtt/index.ts';
import { Outbox } from '../../../monitor/outbox/index.ts';
import { BROKERS } from './brokers.ts';
import { waitUntil } from './receiver.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function tempOutbox(): Outbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-client-'));
  const outbox = Outbox.open(path.join(dir, 'outbox.db'));
  cleanups.push(() => {
    outbox.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return outbox;
}

/** The retained state a subscriber arriving now sees for `device`. */
async function retainedState(url: string, fleet: string, device: string): Promise<StatePayload | null> {
  const op = await connectOperator({ url, protocol: '3.1.1' });
  let state: StatePayload | null = null;
  await op.subscribe([`vigil/v1/${fleet}/${device}/state`], (_t, payload, retained) => {
    if (retained) state = parseState(payload);
  });
  await waitUntil(() => state !== null, 3000, 'the retained state').catch(() => undefined);
  await op.end();
  return state;
}

describe.each(BROKERS)('device client ($name)', ({ name, start }) => {
  it('publishes a retained birth, and a retained death by Last Will or on graceful stop', async () => {
    const broker = await start();
    cleanups.push(() => broker.stop());
    const outbox = tempOutbox();
    const watcher = await connectOperator({ url: broker.url });
    cleanups.push(() => watcher.end());
    const seen: StatePayload[] = [];
    await watcher.subscribe(['vigil/v1/f1/+/state'], (_t, payload) => {
      const s = parseState(payload);
      if (s) seen.push(s);
    });

    const make = () =>
      new DeviceClient(
        {
          url: broker.url,
          fleet: 'f1',
          device: 'd1',
          cohort: 'night-shift',
          reconnect: { initialDelayMs: 50 },
        },
        { outbox, birthInfo: () => ({ model: 'afib-mlp', version: '1.2.0' }) },
      );
    const a = make();
    a.start();
    await waitUntil(() => seen.some((s) => s.online), 5000, 'birth');
    const birth = seen.find((s) => s.online);
    expect(birth).toMatchObject({
      fleet: 'f1',
      device: 'd1',
      cohort: 'night-shift',
      info: { version: '1.2.0' },
    });
    expect(birth?.protocol).toBe(name === 'aedes' ? 4 : 5);
    // A subscriber arriving later sees the retained online state.
    expect(await retainedState(broker.url, 'f1', 'd1')).toMatchObject({ online: true, bdSeq: birth?.bdSeq });

    // A crash: the broker publishes the Will, with the same bdSeq as the birth it ends.
    await a.stop({ graceful: false });
    await waitUntil(() => seen.some((s) => !s.online), 5000, 'Last Will');
    const death = seen.find((s) => !s.online);
    expect(death).toMatchObject({ bdSeq: birth?.bdSeq });
    expect(death?.reason).toBeUndefined();
    expect(await retainedState(broker.url, 'f1', 'd1')).toMatchObject({ online: false, bdSeq: birth?.bdSeq });

    // A restart births with a higher bdSeq; a graceful stop publishes its own death.
    seen.length = 0;
    const b = make();
    b.start();
    await waitUntil(() => seen.some((s) => s.online), 5000, 'second birth');
    const second = seen.find((s) => s.online);
    expect(second?.bdSeq).toBeGreaterThan(birth?.bdSeq ?? Infinity);
    await b.stop();
    await waitUntil(() => seen.some((s) => !s.online), 5000, 'graceful death');
    expect(seen.find((s) => !s.online)).toMatchObject({ bdSeq: second?.bdSeq, reason: 'shutdown' });
  });

  it('hands device and fleet commands to the handler, drops oversized ones, reports handler failures', async () => {
    const broker = await start();
    cleanups.push(() => broker.stop());
    const outbox = tempOutbox();
    const commands: { topic: string; text: string }[] = [];
    const errors: MqttError[] = [];
    const client = new DeviceClient(
      { url: broker.url, fleet: 'f2', device: 'd2', maxCommandBytes: 1024 },
      {
        outbox,
        onCommand: (payload, topic) => {
          const text = new TextDecoder().decode(payload);
          if (text === 'explode') throw new Error('handler bug');
          commands.push({ topic, text });
        },
        onError: (e) => errors.push(e),
      },
    );
    client.start();
    cleanups.push(() => client.stop());
    await waitUntil(() => client.state.kind === 'online', 5000, 'online');
    const op = await connectOperator({ url: broker.url });
    cleanups.push(() => op.end());
    const enc = (s: string) => new TextEncoder().encode(s);
    await op.publish(deviceCommandTopic('f2', 'd2', 'promote'), enc('to-device'));
    await op.publish(fleetCommandTopic('f2', 'freeze'), enc('to-fleet'));
    await op.publish(deviceCommandTopic('f2', 'other', 'promote'), enc('not-mine'));
    await op.publish(deviceCommandTopic('f2', 'd2', 'big'), new Uint8Array(1025).fill(65));
    await op.publish(deviceCommandTopic('f2', 'd2', 'bad'), enc('explode'));
    await op.publish(deviceCommandTopic('f2', 'd2', 'last'), enc('after'));
    await waitUntil(() => commands.some((c) => c.text === 'after'), 5000, 'commands');
    expect(commands).toEqual([
      { topic: 'vigil/v1/f2/d2/cmd/promote', text: 'to-device' },
      { topic: 'vigil/v1/f2/cmd/freeze', text: 'to-fleet' },
      { topic: 'vigil/v1/f2/d2/cmd/last', text: 'after' },
    ]);
    expect(errors.map((e) => e.code).filter((c) => c !== 'PROTOCOL_FALLBACK')).toEqual([
      'COMMAND_TOO_LARGE',
      'COMMAND_HANDLER_FAILED',
    ]);
    expect(client.stats()).toMatchObject({ commands: 4, commandsDropped: 1 });
  });
});
