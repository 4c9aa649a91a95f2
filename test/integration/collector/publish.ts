// Simulated devices on a real broker: each device is its own MQTT client with a retained birth
// message and a Last Will (docs/telemetry.md "Birth and death"), publishing signed reports at QoS 1.
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { Collector } from '../../../monitor/collector/index.ts';
import {
  signedReport,
  simulateReport,
  stateMessage,
  topic,
  type ModelFixture,
  type Rng,
  type SimDevice,
} from './fleet-sim.ts';

export interface OnlineDevice {
  readonly device: SimDevice;
  readonly client: MqttClient;
}

export async function connectDevice(
  url: string,
  d: SimDevice,
  bdSeq: number,
  protocolVersion: 4 | 5 = 4,
): Promise<OnlineDevice> {
  const client = await mqtt.connectAsync(url, {
    clientId: `vigil-${d.fleet}-${d.device}`,
    clean: true,
    protocolVersion,
    reconnectPeriod: 0,
    will: {
      topic: topic(d, 'state'),
      payload: Buffer.from(stateMessage(d, false, bdSeq)),
      qos: 1,
      retain: true,
    },
  });
  await client.publishAsync(topic(d, 'state'), Buffer.from(stateMessage(d, true, bdSeq, Date.now())), {
    qos: 1,
    retain: true,
  });
  return { device: d, client };
}

/** Publishes `hours` hourly reports per device starting at t0; `gain(device, hour)` drifts a cohort. */
export async function publishReports(
  devices: readonly OnlineDevice[],
  model: ModelFixture,
  o: { t0: number; hours: number; rng: Rng; gain?: (d: SimDevice, hour: number) => number; windows?: number },
): Promise<number> {
  let n = 0;
  for (let h = 0; h < o.hours; h++) {
    await Promise.all(
      devices.map(async ({ device, client }) => {
        const r = simulateReport(device, model, {
          startMs: o.t0 + h * 3_600_000,
          intervalMs: 3_600_000,
          windows: o.windows ?? 3600,
          rng: o.rng,
          gain: o.gain?.(device, h) ?? 1,
          labelShare: 0.02,
          shadowCandidate: 'fall-detector@1.1.0',
        });
        await client.publishAsync(topic(device, 'report'), Buffer.from(signedReport(device, r)), { qos: 1 });
        n++;
      }),
    );
  }
  return n;
}

/** Resolves when the collector has processed at least `count` messages (or throws after timeoutMs). */
export async function waitForIngest(collector: Collector, count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await collector.ingest.drain();
    if (collector.overview().ingest.received >= count) return;
    if (Date.now() > deadline) {
      throw new Error(`the collector received ${collector.overview().ingest.received} of ${count} messages`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
