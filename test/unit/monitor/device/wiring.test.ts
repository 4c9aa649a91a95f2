// The daemon wiring the lead does, checked here: the monitor satisfies runtime's observer shapes
// structurally (compile-time assignments), and reports reach a real outbox signed, with their sequence.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PipelineObserver, ShadowListener } from '../../../../runtime/pipeline/index.ts';
import type { LabelObserver } from '../../../../runtime/device.ts';
import { Outbox } from '../../../../monitor/outbox/index.ts';
import {
  DeviceMonitor,
  enqueueDriftEvent,
  jsonFileStore,
  reportCycle,
  type DriftAlarm,
  type ReportOutbox,
} from '../../../../monitor/device/index.ts';
import { verifyDriftEvent, verifyReport } from '../../../../monitor/report/index.ts';
import { EXAMPLE_KID, exampleKey } from '../report/example.ts';
import { FakeClock, ok, referenceModel, result } from './helpers.ts';

const T0 = 1_767_225_600_000;

describe('daemon wiring', () => {
  it('plugs into the runtime observer shapes and the outbox', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-monitor-'));
    try {
      const clock = new FakeClock(T0);
      const key = exampleKey();
      const outbox = Outbox.open(path.join(dir, 'outbox.db'), {}, { now: clock.now });
      const alarms: DriftAlarm[] = [];
      const monitor = new DeviceMonitor({
        fleet: 'ward-3',
        device: 'bedside-1',
        runtimeVersion: '0.1.0',
        firmwareVersion: 'fw-1',
        now: clock.now,
        store: jsonFileStore(path.join(dir, 'monitor.json')),
        callbacks: {
          onAlarm: (alarm) => {
            alarms.push(alarm);
            if (alarm.event) enqueueDriftEvent(outbox, alarm.event, key.signer);
          },
        },
      });
      // Compile-time: what the daemon passes to the pipeline, DeviceRuntime and Pipeline.onShadowPair.
      const observer: PipelineObserver = monitor;
      const labels: LabelObserver = monitor;
      const shadow: ShadowListener = (a, c) => {
        monitor.onShadowPair(a, c);
      };
      const box: ReportOutbox = outbox;
      expect(
        [observer, labels, shadow, box].every((x) => typeof x === 'object' || typeof x === 'function'),
      ).toBe(true);

      const model = referenceModel('fall-detector', { onDrift: 'alert' });
      monitor.registerModel(model);
      const threshold = model.manifest.thresholds.operatingThreshold;
      for (let i = 0; i < 100; i++) monitor.onResult(result(ok(0.999, threshold)), null); // PH fires "up"
      clock.ms = T0 + 3_600_000;
      const seqs = reportCycle(monitor, outbox, key.signer);
      expect(seqs).toHaveLength(1);
      const resolveKey = (kid: string) =>
        kid === EXAMPLE_KID ? { publicKey: key.publicKey, fleet: 'ward-3', device: 'bedside-1' } : undefined;
      const entries = outbox.pending(0, 100);
      const reportEntry = entries.find((e) => e.class === 'routine-report');
      const eventEntry = entries.find((e) => e.class === 'alert');
      if (!reportEntry || !eventEntry) throw new Error('entries expected');
      expect(reportEntry.topicSuffix).toBe('report');
      const report = verifyReport(reportEntry.payload, { resolveKey }).value;
      expect(report.seq).toBe(reportEntry.seq);
      expect(report.createdMs).toBe(reportEntry.createdMs);
      expect(report.change.scoreAlarmsUp).toBeGreaterThan(0);
      expect(eventEntry.topicSuffix).toBe('event');
      const event = verifyDriftEvent(eventEntry.payload, { resolveKey }).value;
      expect(event).toMatchObject({
        kind: 'score-change',
        direction: 'up',
        action: 'alert',
        seq: eventEntry.seq,
      });
      expect(alarms.length).toBeGreaterThan(0);
      expect(fs.existsSync(path.join(dir, 'monitor.json'))).toBe(true);
      outbox.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
