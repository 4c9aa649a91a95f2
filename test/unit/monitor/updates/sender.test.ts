// The sender against receivers over an in-memory broker: need-driven re-sends, manifest re-sends
// to a silent device, fleet discovery by retained births with a cohort, and the outcome summary.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deviceTopics,
  encodeState,
  parseTransferTopic,
  topicMatches,
} from '../../../../monitor/mqtt/index.ts';
import { UpdateReceiver, UpdateSender, encodeStatusMessage } from '../../../../monitor/updates/index.ts';
import type { SenderTransport } from '../../../../monitor/updates/index.ts';

const dirs: string[] = [];
const receivers: UpdateReceiver[] = [];
afterEach(() => {
  for (const r of receivers.splice(0)) r.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

type Handler = (topic: string, payload: Uint8Array, retained: boolean) => void;

class MemoryBroker {
  private readonly subs: { filters: readonly string[]; handler: Handler; who: string }[] = [];
  private readonly retained = new Map<string, Uint8Array>();
  /** Return false to drop a message in transit to subscriber `who`. */
  filter: (topic: string, who: string) => boolean = () => true;

  transport(who = 'sender'): SenderTransport {
    return {
      publish: (topic, payload) => this.publish(topic, payload),
      subscribe: (filters, handler) => {
        this.subs.push({ filters, handler, who });
        for (const [topic, payload] of this.retained) {
          if (filters.some((f) => topicMatches(f, topic))) handler(topic, payload, true);
        }
        return Promise.resolve();
      },
    };
  }

  async publish(topic: string, payload: Uint8Array, retain = false): Promise<void> {
    if (retain) this.retained.set(topic, payload);
    await Promise.resolve();
    for (const s of this.subs) {
      if (s.filters.some((f) => topicMatches(f, topic)) && this.filter(topic, s.who))
        s.handler(topic, payload, false);
    }
  }
}

function device(broker: MemoryBroker, fleet: string, name: string, cohort?: string): UpdateReceiver {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-send-'));
  dirs.push(dir);
  let seq = 0;
  const topics = deviceTopics(fleet, name);
  const receiver = UpdateReceiver.open(
    { fleet, device: name, stagingDir: dir, limits: { stallMs: 40 }, ...(cohort ? { cohort } : {}) },
    {
      onBundleStaged: () => ({ kind: 'installed' }),
      emitStatus: (s) => {
        seq += 1;
        const bytes = encodeStatusMessage({
          v: 1,
          type: 'update-status',
          fleet,
          device: name,
          seq,
          at: Date.now(),
          ...s,
        });
        void broker.publish(topics.updateStatus, bytes);
        if (seq % 2 === 0) void broker.publish(topics.updateStatus, bytes); // QoS 1 duplicates
      },
    },
  );
  receivers.push(receiver);
  void broker.transport(name).subscribe(topics.updateFilters, (topic, payload) => {
    void receiver.handleMessage(payload, topic);
  });
  receiver.onConnected();
  void broker.publish(
    topics.state,
    encodeState({ v: 1, online: true, fleet, device: name, bdSeq: 1, ...(cohort ? { cohort } : {}) }),
    true,
  );
  return receiver;
}

const file = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 13) & 0xff);

describe('UpdateSender', () => {
  it('re-sends exactly the chunks a device reports missing, and reports every device installed', async () => {
    const broker = new MemoryBroker();
    device(broker, 'f', 'd1');
    device(broker, 'f', 'd2');
    let dropped = 0;
    broker.filter = (topic, who) => {
      const t = parseTransferTopic(topic);
      const drop = who === 'd2' && t?.part.kind === 'chunk' && [2, 3].includes(t.part.index) && dropped < 2;
      if (drop) dropped += 1;
      return !drop;
    };
    const resends: number[] = [];
    const sender = new UpdateSender(
      broker.transport(),
      {
        fleet: 'f',
        target: { kind: 'devices', devices: ['d1', 'd2'] },
        file,
        name: 'b',
        chunkBytes: 4096,
        retryMs: 2000,
        timeoutMs: 10_000,
      },
      { onEvent: (e) => (e.kind === 'resend' ? resends.push(e.chunks) : undefined) },
    );
    const result = await sender.run();
    expect(result.ok).toBe(true);
    expect(result.devices.map((d) => [d.device, d.state])).toEqual([
      ['d1', 'installed'],
      ['d2', 'installed'],
    ]);
    expect(resends).toEqual([2]);
    expect(result.chunksPublished).toBe(2 * 13 + 2);
  });

  it('re-sends the manifest to a device that missed it, and finds fleet targets by cohort', async () => {
    const broker = new MemoryBroker();
    device(broker, 'f', 'a1', 'night');
    device(broker, 'f', 'a2', 'night');
    device(broker, 'f', 'b1', 'day');
    let manifestsToA2 = 0;
    broker.filter = (topic, who) => {
      const t = parseTransferTopic(topic);
      if (who !== 'a2' || t?.part.kind !== 'manifest') return true;
      // a2 misses the fleet-wide manifest (so it ignores the chunks too) until it is sent to it.
      if (t.scope.kind === 'device') manifestsToA2 += 1;
      return t.scope.kind === 'device';
    };
    const result = await new UpdateSender(broker.transport(), {
      fleet: 'f',
      target: { kind: 'fleet', cohort: 'night' },
      file,
      name: 'b',
      chunkBytes: 8192,
      retryMs: 100,
      discoveryMs: 20,
      timeoutMs: 10_000,
    }).run();
    expect(result.devices.map((d) => d.device).sort()).toEqual(['a1', 'a2']);
    expect(result.ok).toBe(true);
    expect(manifestsToA2).toBeGreaterThanOrEqual(1);
    expect(result.devices.find((d) => d.device === 'a2')?.state).toBe('installed');
  });

  it('reports a rejection with its code, and times out on a device that never answers', async () => {
    const broker = new MemoryBroker();
    device(broker, 'f', 'small');
    const result = await new UpdateSender(broker.transport(), {
      fleet: 'f',
      target: { kind: 'devices', devices: ['small', 'ghost'] },
      file,
      name: 'b',
      chunkBytes: 300_000,
      retryMs: 50,
      timeoutMs: 400,
    }).run();
    expect(result.ok).toBe(false);
    expect(result.timedOut).toBe(true);
    const byDevice = Object.fromEntries(result.devices.map((d) => [d.device, d]));
    expect(byDevice.small).toMatchObject({
      state: 'rejected',
      code: 'CHUNK_TOO_LARGE',
      done: true,
      ok: false,
    });
    expect(byDevice.ghost).toMatchObject({ state: 'pending', done: false });
  });

  it('refuses a fleet push that finds no device', async () => {
    const broker = new MemoryBroker();
    const sender = new UpdateSender(broker.transport(), {
      fleet: 'empty',
      target: { kind: 'fleet' },
      file,
      name: 'b',
      discoveryMs: 10,
    });
    await expect(sender.run()).rejects.toMatchObject({ code: 'NO_TARGETS' });
  });
});
