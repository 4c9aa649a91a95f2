// The demo's story end to end, headless, on the embedded broker (Aedes) and the embedded collector:
// six real device daemons (one in a process of its own, so that it can lose power for real) with
// simulated wearers on the real bridge client, the compressed demo scenario (test/e2e/scenarios/
// demo-ci.json). Asserted on what the devices and the collector hold, not on the narration:
// every report accounted for, a drift alert for the drifted cohort within the promised windows and
// none elsewhere, the damaged bundle rejected with its code and the model unchanged, the power-loss
// device consistent, the buffered reports of the cut-off device delivered, and every audit chain
// verified against the collector's checkpoints.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFleetDemo, summaryLines, type FleetDemoResult } from '../../scripts/demo/fleet-demo.ts';
import { parseScenario, type Scenario } from '../../simulator/fleet/index.ts';
import {
  activeBundle,
  reportCreatedMs,
  reportRows,
  repeatedIntervals,
  viewDevice,
  type DeviceView,
} from './fleet-helpers.ts';

const scenario: Scenario = parseScenario(
  new Uint8Array(fs.readFileSync(path.join(import.meta.dirname, 'scenarios/demo-ci.json'))),
);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-e2e-fleet-'));
const lines: string[] = [];
let result: FleetDemoResult;
const views = new Map<string, DeviceView>();

function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}`);
  return value;
}

beforeAll(async () => {
  result = await runFleetDemo({
    scenario,
    demoDir: dir,
    collector: { http: { host: '127.0.0.1', port: 0 } },
    out: (line) => lines.push(line),
    progressBar: false,
  });
  const store = must(result.host.collector, 'a collector').collector.store;
  for (const d of result.run.plan.devices) {
    views.set(d.id, await viewDevice(result.host.deviceDir(d.id), store, d.id));
  }
}, 300_000);

afterAll(async () => {
  await result.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const collector = () => must(result.host.collector, 'a collector').collector;
const device = (i: number) => must(result.run.plan.devices[i], `device ${i}`);
const view = (i: number) => must(views.get(device(i).id), `the state of device ${i}`);

describe('the demo scenario on the embedded broker and collector', () => {
  it('holds every report of every device exactly once', () => {
    let total = 0;
    for (const d of result.run.plan.devices) {
      const v = must(views.get(d.id), d.id);
      const written = v.outbox.perClass['routine-report'].written;
      const rows = reportRows(collector().store, d.id);
      total += rows.length;
      expect({
        device: d.id,
        held: rows.length,
        pending: v.outbox.pending,
        evicted: v.outbox.evicted,
      }).toEqual({
        device: d.id,
        held: written,
        pending: 0,
        evicted: 0,
      });
      expect(repeatedIntervals(rows)).toEqual([]);
      // No sequence number of the device is missing at the collector (reports, checkpoints, statuses).
      const seq = must(collector().store.device(d.id)?.sequence, `${d.id}'s sequence`);
      expect({ pending: seq.pending, lost: seq.lost, highest: seq.highest }).toEqual({
        pending: [],
        lost: 0,
        highest: v.outbox.written,
      });
    }
    // 6 devices × 2 models × one report per 5 s for ~110 s, give or take the first and last interval.
    expect(total).toBeGreaterThan(200);
  });

  it('raises a drift alert for the drifted cohort within the windows the rule promises, and none elsewhere', () => {
    const bucketMs = scenario.collector.bucketS * 1000;
    const gain = must(
      scenario.steps.find((s) => s.do === 'gain'),
      'the gain step',
    );
    const onsetMs = result.run.t0Ms + gain.atS * 1000;
    const w0 = Math.floor(onsetMs / bucketMs) * bucketMs;
    const alerts = collector().store.alerts({});
    const fall = collector()
      .store.models()
      .filter((m) => m.family === 'fall-detector')
      .map((m) => m.manifestSha256);
    const drifted = alerts.filter(
      (a) => a.groupValue === 'drift' && a.role === 'active' && fall.includes(a.manifestSha256),
    );
    expect(drifted.length).toBeGreaterThan(0);
    // Two consecutive finding windows (the rule), the first of them no earlier than the onset's
    // window, the second at most two windows later: the alert opens within 3 windows of the onset.
    const completing = (a: (typeof drifted)[number]) =>
      a.firstWindowMs + (scenario.collector.consecutiveWindows - 1) * bucketMs;
    const earliest = Math.min(...drifted.map(completing));
    expect(Math.min(...drifted.map((a) => a.firstWindowMs))).toBeGreaterThanOrEqual(w0);
    expect(earliest).toBeLessThan(w0 + 3 * bucketMs);
    // The accelerometer magnitude is among the variables the alerts name.
    expect(drifted.map((a) => a.variableName)).toContain('acc_mag_mean_g');
    expect(alerts.filter((a) => a.groupValue !== 'drift')).toEqual([]);
  });

  it('rejects the damaged bundle on the device that got it, with its code, and keeps its model', () => {
    const v = view(2);
    const rejected = v.records.filter((r) => r.kind === 'bundle-rejected');
    expect(rejected.map((r) => r.payload.code)).toEqual(['DIGEST_MISMATCH']);
    const push = must(
      result.host.pushes.find((p) => p.corrupted),
      'the damaged push',
    );
    expect(push.statuses.get(device(2).id)).toEqual({ status: 'rejected', code: 'DIGEST_MISMATCH' });
    expect(activeBundle(v, 'fall-detector')).toBe('fall-detector@1.0.0-demo');
    expect(v.status.families.find((f) => f.family === 'fall-detector')?.candidate).toBeNull();
    // Its model never changed: the only fall-detector activation is the first install.
    expect(
      v.records
        .filter((r) => r.kind === 'bundle-activated' || r.kind === 'bundle-promoted')
        .map((r) => r.payload.bundleId),
    ).toEqual(['fall-detector@1.0.0-demo', 'af-screener@1.0.0-demo']);
  });

  it('brings the device that lost power mid-update back consistent, with the update completed', () => {
    const v = view(4);
    const boots = v.records.filter((r) => r.kind === 'boot').map((r) => r.payload.previousShutdown);
    expect(boots).toEqual(['first-boot', 'unclean']);
    // Killed part-way through the transfer: the bundle arrived only after the restart.
    const rebootSeq = must(
      v.records.find((r) => r.payload.previousShutdown === 'unclean'),
      'the reboot',
    ).seq;
    const received = v.records.filter((r) => r.kind === 'bundle-received' && r.payload.source === 'mqtt');
    expect(received.length).toBe(1);
    expect(must(received[0], 'the transfer').seq).toBeGreaterThan(rebootSeq);
    expect(v.audit.kind).toBe('intact');
    for (const f of v.status.families) expect(f.active?.mode.kind).toBe('model');
    expect(activeBundle(v, 'fall-detector')).toBe('fall-detector@1.1.0-demo');
    expect(activeBundle(v, 'af-screener')).toBe('af-screener@1.0.0-demo');
  });

  it('delivers what the device without a broker link buffered, after the link returns', () => {
    const link = must(
      scenario.steps.find((s) => s.do === 'link-loss'),
      'the link-loss step',
    );
    const id = device(0).id;
    const from = result.run.t0Ms + link.atS * 1000;
    const to = from + link.durationS * 1000;
    const made = reportRows(collector().store, id).map((r) => reportCreatedMs(collector().store, id, r.seq));
    // Reports made while the device had no link (allowing a second for the cut to take effect).
    expect(made.filter((t) => t > from + 1000 && t < to - 1000).length).toBeGreaterThanOrEqual(3);
  });

  it('promotes the candidate on the control cohort and rolls it back automatically on the drifted one', () => {
    for (const d of result.run.plan.devices) {
      const v = must(views.get(d.id), d.id);
      if (d.index === 2) continue;
      if (d.cohort === 'ctrl') expect(activeBundle(v, 'fall-detector')).toBe('fall-detector@1.1.0-demo');
      else {
        expect(activeBundle(v, 'fall-detector')).toBe('fall-detector@1.0.0-demo');
        expect(
          v.records.some(
            (r) => r.kind === 'bundle-rolled-back' && r.payload.from === 'fall-detector@1.1.0-demo',
          ),
        ).toBe(true);
      }
    }
  });

  it("verifies every device's audit chain against the checkpoints the collector holds", () => {
    for (const d of result.run.plan.devices) {
      const v = must(views.get(d.id), d.id);
      const held = collector().store.checkpoints(d.id, 100_000).length;
      expect({ device: d.id, audit: v.audit.kind, invalid: v.invalidCheckpoints }).toEqual({
        device: d.id,
        audit: 'intact',
        invalid: [],
      });
      expect(held).toBeGreaterThanOrEqual(2);
      // The device's own stored checkpoints plus every one the collector holds were found in the chain.
      expect(v.checkpointsUsed).toBeGreaterThanOrEqual(held);
    }
  });

  it("the demo's own summary agrees", () => {
    const summary = summaryLines(result).join('\n');
    expect(result.checks.map((c) => [c.name, c.ok])).toEqual(result.checks.map((c) => [c.name, true]));
    expect(summary).toContain('none lost, none duplicated');
    expect(lines.some((l) => l.includes('DEMO keys'))).toBe(true);
    expect(result.dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
