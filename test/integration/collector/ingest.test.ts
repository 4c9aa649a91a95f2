// The collector on real brokers: Mosquitto (MQTT 5, shared subscription) and in-process Aedes (MQTT
// 3.1.1). Devices publish real signed reports; one device is the real device transport (durable outbox
// + DeviceClient with birth/death and the `vigil-seq` user property). Checked: every message stored
// once, every rejection counted by code, gaps, birth/Last Will, the collector's own restart with its
// broker session kept (nothing published meanwhile is lost), and audit checkpoints without a sequence
// number kept out of the gap count through the MQTT 5 user property.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Collector,
  SqliteCollectorStore,
  connectMqttSource,
  type MqttSource,
} from '../../../monitor/collector/index.ts';
import { openDeviceTransport, type DeviceTransport } from '../../../monitor/updates/index.ts';
import { signReport } from '../../../monitor/report/index.ts';
import { BROKERS, type BrokerHandle } from '../mqtt/brokers.ts';
import {
  Rng,
  checkpoint,
  driftEvent,
  enrolmentOf,
  makeDevice,
  must,
  referenceModel,
  signedReport,
  simulateReport,
  topic,
  updateStatus,
} from './fleet-sim.ts';
import { connectDevice, waitForIngest, type OnlineDevice } from './publish.ts';

const H = 3_600_000;
const model = referenceModel('fall-detector');
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(BROKERS)('collector ingest on $name', ({ name, start }) => {
  it('stores each signed message once, counts rejections, tracks gaps and birth/death, survives its own restart', async () => {
    const broker: BrokerHandle = await start();
    cleanups.push(() => broker.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-collector-${name}-`));
    cleanups.push(() => {
      fs.rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    });
    const db = path.join(dir, 'collector.db');
    const open = (): Collector => {
      const c = new Collector({
        store: new SqliteCollectorStore(db),
        fleet: 'ward-3',
        options: { verifyThreads: 1 },
      });
      return c;
    };
    let collector = open();
    collector.registerModel(model.registration);
    const sims = [0, 1, 2, 3].map((i) =>
      makeDevice('ward-3', `bed-${i}`, { cohort: i < 2 ? 'night' : 'day' }),
    );
    const real = makeDevice('ward-3', 'gateway-7', { cohort: 'day' });
    for (const d of [...sims, real]) collector.enrol(enrolmentOf(d));
    collector.start();
    const sourceOptions = { url: broker.url, fleet: 'ward-3', clientId: `collector-${name}` };
    let source: MqttSource = await connectMqttSource(sourceOptions, collector);
    expect(source.protocol).toBe(broker.protocols.includes(5) ? 5 : 4);
    expect(source.shared).toBe(broker.protocols.includes(5));
    if (source.shared) expect(source.filters).toContain('$share/vigil-collectors/vigil/v1/ward-3/+/report');

    const devices: OnlineDevice[] = [];
    for (const [i, d] of sims.entries()) devices.push(await connectDevice(broker.url, d, i + 1));
    cleanups.push(async () => {
      for (const d of devices) await d.client.endAsync(true).catch(() => undefined);
    });
    const rng = new Rng(77);
    const t0 = Date.UTC(2026, 3, 1);
    const bed0 = must(devices[0]);
    const bed1 = must(devices[1]);
    const bed2 = must(devices[2]);
    let published = 0;
    const pub = async (d: OnlineDevice, suffix: string, bytes: Uint8Array) => {
      await d.client.publishAsync(topic(d.device, suffix), Buffer.from(bytes), { qos: 1 });
      published++;
    };
    const report = (d: OnlineDevice, h: number) =>
      signedReport(
        d.device,
        simulateReport(d.device, model, { startMs: t0 + h * H, intervalMs: H, windows: 600, rng }),
      );
    for (let h = 0; h < 3; h++) for (const d of devices) await pub(d, 'report', report(d, h));
    const again = report(bed0, 3);
    await pub(bed0, 'report', again);
    await pub(bed0, 'report', again); // a redelivery
    bed1.device.seq += 2; // two numbers the collector will never see
    await pub(bed1, 'report', report(bed1, 3));
    await pub(bed1, 'event', driftEvent(bed1.device, model, t0 + 4 * H));
    await pub(bed1, 'update/status', updateStatus(bed1.device, 'accepted', t0 + 4 * H));
    // Refused, counted, and nothing stops:
    const forged = report(bed2, 3);
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0xff;
    await pub(bed2, 'report', forged);
    await pub(bed2, 'report', new TextEncoder().encode('{"hello":"world"}'));
    const intruder = await connectDevice(broker.url, makeDevice('ward-3', 'intruder'), 1);
    cleanups.push(() => intruder.client.endAsync(true));
    await pub(intruder, 'report', report(intruder, 0));
    const stateMessages = devices.length + 1;

    // The real device transport: outbox (durable) → DeviceClient (birth/death, user properties).
    const transportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-device-'));
    const transport: DeviceTransport = openDeviceTransport(
      {
        dataDir: transportDir,
        mqtt: {
          url: broker.url,
          fleet: 'ward-3',
          device: real.device,
          cohort: 'day',
          reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
        },
      },
      { onCommand: () => undefined, onBundleStaged: () => ({ kind: 'installed' }) },
    );
    cleanups.push(async () => {
      await transport.stop({ graceful: false }).catch(() => undefined);
      fs.rmSync(transportDir, { recursive: true, force: true });
    });
    transport.start();
    for (let h = 0; h < 2; h++) {
      const draft = simulateReport(real, model, { startMs: t0 + h * H, intervalMs: H, windows: 600, rng });
      transport.outbox.enqueue({
        class: 'routine-report',
        topicSuffix: 'report',
        payload: (seq, createdMs) => signReport({ ...draft, seq, createdMs }, real.signer),
      });
    }
    // An audit checkpoint as runtime/state signs it: no sequence number in the payload.
    transport.outbox.enqueue({
      class: 'audit-checkpoint',
      topicSuffix: 'audit',
      payload: () => checkpoint(real, 42, 'head-42', t0 + 3 * H, false),
    });
    transport.outbox.enqueue({
      class: 'routine-report',
      topicSuffix: 'report',
      payload: (seq, createdMs) =>
        signReport(
          {
            ...simulateReport(real, model, { startMs: t0 + 2 * H, intervalMs: H, windows: 600, rng }),
            seq,
            createdMs,
          },
          real.signer,
        ),
    });
    const realMessages = 4 + 1; // three reports and a checkpoint, plus its birth
    await waitForIngest(collector, published + stateMessages + realMessages);
    let o = collector.overview();
    expect(o.ingest.accepted.report).toBe(3 * 4 + 2 + 3);
    expect(o.ingest.duplicates).toBe(1);
    expect(o.ingest.accepted.driftEvent).toBe(1);
    expect(o.ingest.accepted.updateStatus).toBe(1);
    expect(o.ingest.accepted.checkpoint).toBe(1);
    expect(o.ingest.rejected.BAD_SIGNATURE).toBe(1);
    expect(o.ingest.rejected.MALFORMED).toBe(1);
    expect(o.ingest.rejected.UNKNOWN_DEVICE).toBe(2); // its report and its birth
    const gapsOf = (id: string) => collector.devices().find((d) => d.device === id)?.sequence;
    expect(gapsOf('bed-1')?.pending).toEqual([
      expect.objectContaining({ end: (gapsOf('bed-1')?.pending[0]?.start ?? 0) + 2 }),
    ]);
    // With MQTT 5 the checkpoint's outbox number arrives as the `vigil-seq` user property: no gap.
    // MQTT 3.1.1 has no user properties, so there the checkpoint's number shows as a pending gap.
    expect(gapsOf('gateway-7')?.pending.length).toBe(source.protocol === 5 ? 0 : 1);
    expect(collector.store.lastCheckpoint('gateway-7')?.count).toBe(42);
    expect(collector.devices().find((d) => d.device === 'gateway-7')?.status).toBe('online');

    // Last Will: a device that vanishes shows offline.
    bed2.client.stream.destroy();
    devices.splice(2, 1);
    await waitFor(
      () => collector.devices().find((d) => d.device === 'bed-2')?.status === 'offline',
      'the Last Will',
    );

    // The collector restarts; its broker session (clean: false) keeps what devices publish meanwhile.
    await source.close();
    await collector.close();
    const before = published;
    for (const d of [bed0, bed1]) await pub(d, 'report', report(d, 5));
    collector = open();
    collector.start();
    source = await connectMqttSource(sourceOptions, collector);
    cleanups.push(async () => {
      await source.close();
      await collector.close();
    });
    await waitFor(
      () => collector.overview().ingest.accepted.report === 3 * 4 + 2 + 3 + (published - before),
      'the queued reports',
    );
    o = collector.overview();
    expect(o.ingest.duplicates).toBe(1);
    expect(collector.store.journal(10)).toEqual([]);
  }, 60_000);
});
