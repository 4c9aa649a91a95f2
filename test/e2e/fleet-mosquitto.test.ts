// `vigil simulate fleet` against a real Mosquitto (MQTT 5): the shipped broker-outage scenario, four
// real device daemons, every device's link to the broker cut for 20 s. The collector runs in the
// command (`--collector`), on the same broker. Checked afterwards from its database and the devices'
// state: nothing lost, nothing counted twice, the buffered reports delivered, no drift alert, every
// audit chain verified against the collector's checkpoints.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqliteCollectorStore } from '../../monitor/collector/index.ts';
import { main } from '../../scripts/cli/main.ts';
import { deviceIds } from '../../simulator/fleet/index.ts';
import { startMosquitto, type BrokerHandle } from '../integration/mqtt/brokers.ts';
import {
  reportCreatedMs,
  reportRows,
  repeatedIntervals,
  viewDevice,
  type DeviceView,
} from './fleet-helpers.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-e2e-mosquitto-'));
let broker: BrokerHandle;
let exitCode = -1;
let started = 0;
let store: SqliteCollectorStore;
const ids = deviceIds(4);
const views = new Map<string, DeviceView>();
const output: string[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  });
  started = Date.now();
  try {
    exitCode = await main([
      'simulate',
      'fleet',
      '--scenario',
      'broker-outage',
      '--devices',
      '4',
      '--mqtt',
      broker.url,
      '--dir',
      dir,
      '--collector',
      '--no-progress',
    ]);
  } finally {
    spy.mockRestore();
  }
  store = new SqliteCollectorStore(path.join(dir, 'collector.db'), { readonly: true });
  for (const id of ids) views.set(id, await viewDevice(path.join(dir, 'devices', id), store, id));
}, 300_000);

afterAll(async () => {
  store.close();
  await broker.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('vigil simulate fleet on Mosquitto', () => {
  it('runs the scenario and reports every check passed', () => {
    const text = output.join('');
    expect(exitCode).toBe(0);
    expect(text).toContain('broker-outage');
    expect(text).not.toContain('✗');
  });

  it('holds every report once, with no sequence number missing', () => {
    for (const id of ids) {
      const v = views.get(id);
      if (!v) throw new Error(id);
      const rows = reportRows(store, id);
      expect({ id, held: rows.length, pending: v.outbox.pending, evicted: v.outbox.evicted }).toEqual({
        id,
        held: v.outbox.perClass['routine-report'].written,
        pending: 0,
        evicted: 0,
      });
      expect(rows.length).toBeGreaterThan(15);
      expect(repeatedIntervals(rows)).toEqual([]);
      const seq = store.device(id)?.sequence;
      expect({ pending: seq?.pending, lost: seq?.lost, highest: seq?.highest }).toEqual({
        pending: [],
        lost: 0,
        highest: v.outbox.written,
      });
    }
  });

  it('delivers the reports made while the broker was out of reach', () => {
    // The outage is 25–45 s into the scenario. A device's first report closes its first 5 s interval,
    // so scenario time 0 lies within 5 s before it, and [first + 26 s, first + 39 s] is inside the outage.
    for (const id of ids) {
      const made = reportRows(store, id).map((r) => reportCreatedMs(store, id, r.seq));
      const first = Math.min(...made);
      expect(first).toBeGreaterThan(started);
      expect(made.filter((t) => t > first + 26_000 && t < first + 39_000).length).toBeGreaterThanOrEqual(2);
    }
  });

  it('raises no drift alert and verifies every audit chain against the held checkpoints', () => {
    expect(store.alerts({})).toEqual([]);
    for (const id of ids) {
      const v = views.get(id);
      expect(v?.audit.kind).toBe('intact');
      expect(v?.invalidCheckpoints).toEqual([]);
      expect(v?.checkpointsUsed ?? 0).toBeGreaterThanOrEqual(store.checkpoints(id, 100_000).length);
      expect(store.checkpoints(id, 100_000).length).toBeGreaterThanOrEqual(2);
    }
  });
});
