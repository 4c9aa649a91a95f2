// The collector end to end in-process (no broker): ingest, deduplication, gaps, device state, audit
// checkpoints, incidents, journal recovery, the alert rule and the alert lifecycle, on a real SQLite file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Collector,
  SqliteCollectorStore,
  type CollectorOptionsInput,
  type CollectorWriter,
} from '../../../../monitor/collector/index.ts';
import {
  Rng,
  checkpoint,
  driftEvent,
  enrolmentOf,
  makeDevice,
  referenceModel,
  safetyEvent,
  signedReport,
  simulateReport,
  stateMessage,
  topic,
  updateStatus,
  type SimDevice,
  must,
} from '../../../integration/collector/fleet-sim.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);
const model = referenceModel('fall-detector');
const dirs: string[] = [];
const open: Collector[] = [];

afterEach(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDb(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-collector-'));
  dirs.push(dir);
  return path.join(dir, 'collector.db');
}

function make(db: string, clock: { now: number }, options: CollectorOptionsInput = {}): Collector {
  const c = new Collector({
    store: new SqliteCollectorStore(db),
    fleet: 'ward-3',
    now: () => clock.now,
    // These simulations run device clocks ahead of a collector clock that stands still or lags.
    options: { verifyThreads: 0, evaluationGraceMs: 0, maxClockSkewMs: null, ...options },
  });
  open.push(c);
  return c;
}

function send(
  c: Collector,
  d: SimDevice,
  h: number,
  rng: Rng,
  extra: Parameters<typeof simulateReport>[2] extends infer O ? Partial<O> : never = {},
) {
  const r = simulateReport(d, model, { startMs: T0 + h * H, intervalMs: H, windows: 1800, rng, ...extra });
  c.accept(topic(d, 'report'), signedReport(d, r));
  return r;
}

describe('Collector ingest', () => {
  it('stores signed reports once, counts every rejection by code, and keeps going', async () => {
    const clock = { now: T0 };
    const c = make(tmpDb(), clock, { verifyThreads: 1 });
    c.registerModel(model.registration);
    const a = makeDevice('ward-3', 'a');
    const stranger = makeDevice('ward-3', 'stranger');
    c.enrol(enrolmentOf(a));
    const rng = new Rng(1);
    const r = simulateReport(a, model, { startMs: T0, intervalMs: H, windows: 1800, rng });
    const bytes = signedReport(a, r);
    c.accept(topic(a, 'report'), bytes);
    c.accept(topic(a, 'report'), bytes); // redelivery
    c.accept(topic(a, 'report'), new Uint8Array([1, 2, 3]));
    c.accept(
      topic(stranger, 'report'),
      signedReport(
        stranger,
        simulateReport(stranger, model, { startMs: T0, intervalMs: H, windows: 10, rng }),
      ),
    );
    const forged = Uint8Array.from(bytes);
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
    c.accept(topic(a, 'report'), forged);
    send(c, a, 1, rng);
    await c.ingest.drain();
    const o = c.overview();
    expect(o.ingest.received).toBe(6);
    expect(o.ingest.accepted.report).toBe(2);
    expect(o.ingest.duplicates).toBe(1);
    expect(o.ingest.rejected.MALFORMED).toBe(1);
    expect(o.ingest.rejected.UNKNOWN_DEVICE).toBe(1);
    expect(o.ingest.rejected.BAD_SIGNATURE).toBe(1);
    expect(o.ingest.totalRejected).toBe(3);
    expect(o.ingest.recentRejections.map((x) => x.code).sort()).toEqual([
      'BAD_SIGNATURE',
      'MALFORMED',
      'UNKNOWN_DEVICE',
    ]);
    expect(c.store.messagePayload('a', r.seq)).toEqual(bytes);
    expect(c.store.journal(10)).toEqual([]);
    const devices = c.devices();
    expect(devices.map((d) => [d.device, d.reports, d.modelLabel])).toEqual([
      ['a', 2, 'fall-detector 1.0.0'],
    ]);
    // A report whose counts do not fit the profile of its model version is refused.
    const bad = simulateReport(a, model, { startMs: T0 + 2 * H, intervalMs: H, windows: 100, rng });
    const cut = { ...bad, features: bad.features.slice(1) };
    c.accept(topic(a, 'report'), signedReport(a, cut));
    await c.ingest.drain();
    // Retired devices are refused from then on.
    c.retire('ward-3', 'a', 'qa-lead', 'returned for repair');
    send(c, a, 3, rng);
    await c.ingest.drain();
    const after = c.overview();
    expect(after.ingest.rejected.PROFILE_MISMATCH).toBe(1);
    expect(after.ingest.rejected.RETIRED_DEVICE).toBe(1);
    expect(c.devices()[0]?.status).toBe('retired');
  });

  it('keeps the first of two differently signed messages with one sequence number and raises an equivocation incident', async () => {
    const clock = { now: T0 };
    const c = make(tmpDb(), clock);
    c.registerModel(model.registration);
    const a = makeDevice('ward-3', 'a');
    c.enrol(enrolmentOf(a));
    const rng = new Rng(2);
    const first = simulateReport(a, model, { startMs: T0, intervalMs: H, windows: 1800, rng });
    // Another report signed with the same sequence number (a cloned or broken device).
    const second = {
      ...simulateReport(a, model, { startMs: T0, intervalMs: H, windows: 1700, rng }),
      seq: first.seq,
    };
    const firstBytes = signedReport(a, first);
    const secondBytes = signedReport(a, second);
    c.accept(topic(a, 'report'), firstBytes);
    c.accept(topic(a, 'report'), firstBytes); // a plain redelivery stays a duplicate
    c.accept(topic(a, 'report'), secondBytes);
    await c.ingest.drain();
    const o = c.overview();
    expect(o.ingest.duplicates).toBe(1);
    expect(o.ingest.conflicts).toBe(1);
    expect(c.store.messagePayload('a', first.seq)).toEqual(firstBytes);
    const incidents = c.store.incidents({
      fromMs: 0,
      toMs: Number.MAX_SAFE_INTEGER,
      kinds: ['equivocation'],
    });
    expect(incidents).toHaveLength(1);
    expect(incidents[0]?.detail.conflictingPayloadBase64).toBe(Buffer.from(secondBytes).toString('base64'));
  });

  it('refuses an oversized message before copying it to the inbox, and empties the inbox only after a commit', async () => {
    const clock = { now: T0 };
    const db = tmpDb();
    const c = make(db, clock, { maxMessageBytes: 64 * 1024 });
    c.registerModel(model.registration);
    const a = makeDevice('ward-3', 'a');
    c.enrol(enrolmentOf(a));
    c.accept(topic(a, 'report'), new Uint8Array(1024 * 1024));
    expect(c.store.journal(10)).toEqual([]); // not journalled
    await c.ingest.drain();
    expect(c.overview().ingest.rejected.TOO_LARGE).toBe(1);
    // A commit that fails (here: the main database refuses writes) leaves the inbox row in place.
    const rng = new Rng(3);
    const bytes = signedReport(
      a,
      simulateReport(a, model, { startMs: T0, intervalMs: H, windows: 100, rng }),
    );
    const store = c.store;
    const realWrite = store.write.bind(store);
    let failing = true;
    store.write = <T>(fn: (w: CollectorWriter) => T): T =>
      realWrite((w) => {
        const out = fn(w);
        if (failing) throw Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' });
        return out;
      });
    c.accept(topic(a, 'report'), bytes);
    await c.ingest.drain();
    expect(c.store.journal(10).map((e) => e.payload)).toEqual([bytes]);
    expect(c.store.messagePayload('a', 1)).toBeNull();
    expect(c.overview().ingest.rejected.STORE_FAILED ?? 0).toBe(0);
    // The condition passes: the inbox row is taken again and committed.
    failing = false;
    c.ingest.recover();
    await c.ingest.drain();
    expect(c.store.journal(10)).toEqual([]);
    expect(c.store.messagePayload('a', 1)).toEqual(bytes);
  });

  it('tracks gaps (late, evicted, lost), birth/death with bdSeq and silent devices', async () => {
    const clock = { now: T0 };
    const c = make(tmpDb(), clock, { gapLostAfterMs: H, silentAfterMs: 2 * H });
    c.registerModel(model.registration);
    const a = makeDevice('ward-3', 'a');
    c.enrol(enrolmentOf(a));
    const rng = new Rng(2);
    c.accept(topic(a, 'state'), stateMessage(a, true, 5, T0));
    send(c, a, 0, rng); // seq 1
    a.seq = 4;
    send(c, a, 1, rng); // seq 4: 2, 3 pending
    await c.ingest.drain();
    expect(c.overview().gaps).toEqual({ pending: 2, late: 0, evicted: 0, lost: 0 });
    a.seq = 3;
    send(c, a, 2, rng); // 3 arrives late
    a.seq = 10;
    send(c, a, 3, rng, { evicted: { 'routine-report': 2 } }); // 5..9 pending, evictions +2 (baseline was 0)
    c.accept(topic(a, 'state'), stateMessage(a, false, 4)); // a stale death (older session)
    await c.ingest.drain();
    let o = c.overview();
    expect(o.gaps).toEqual({ pending: 4, late: 1, evicted: 2, lost: 0 });
    expect(o.ingest.staleState).toBe(1);
    expect(c.devices()[0]?.status).toBe('online');
    clock.now = T0 + 3 * H;
    c.tick();
    o = c.overview();
    expect(o.gaps).toEqual({ pending: 0, late: 1, evicted: 2, lost: 4 });
    expect(c.devices()[0]?.status).toBe('silent');
    c.accept(topic(a, 'state'), stateMessage(a, false, 5));
    await c.ingest.drain();
    expect(c.devices()[0]?.status).toBe('offline');
  });

  it('keeps audit checkpoints and reports chain discontinuities', async () => {
    const clock = { now: T0 };
    const c = make(tmpDb(), clock);
    const a = makeDevice('ward-3', 'a');
    c.enrol(enrolmentOf(a));
    c.accept(topic(a, 'audit'), checkpoint(a, 100, 'head-100', T0));
    c.accept(topic(a, 'audit'), checkpoint(a, 150, 'head-150', T0 + 10));
    c.accept(topic(a, 'audit'), checkpoint(a, 150, 'head-150', T0 + 10, false)); // same checkpoint again
    await c.ingest.drain();
    expect(c.overview().audit.findings).toBe(0);
    c.accept(topic(a, 'audit'), checkpoint(a, 150, 'rewritten', T0 + 20)); // another head at 150
    c.accept(topic(a, 'audit'), checkpoint(a, 120, 'head-120', T0 + 30)); // the log went back
    await c.ingest.drain();
    const findings = c.store.incidents({ fromMs: 0, toMs: T0 + H, kinds: ['audit-chain'] });
    expect(findings.map((f) => f.summary)).toEqual([
      expect.stringContaining('went backwards'),
      expect.stringContaining('forked'),
    ]);
    expect(c.store.checkpoints('a').length).toBe(4);
    expect(c.overview().ingest.duplicates).toBe(1);
  });

  it('judges an inferred rollback in report time: a late redelivery of a report from before an upgrade is none', async () => {
    const clock = { now: T0 + 3 * H };
    const c = make(tmpDb(), clock);
    const v2 = referenceModel('fall-detector', '1.1.0', 2);
    c.registerModel(model.registration);
    c.registerModel(v2.registration);
    const a = makeDevice('ward-3', 'a');
    c.enrol(enrolmentOf(a));
    const rng = new Rng(3);
    const before = signedReport(
      a,
      simulateReport(a, model, { startMs: T0, intervalMs: H, windows: 100, rng }),
    );
    const after = signedReport(
      a,
      simulateReport(a, v2, { startMs: T0 + H, intervalMs: H, windows: 100, rng }),
    );
    const back = signedReport(
      a,
      simulateReport(a, model, { startMs: T0 + 2 * H, intervalMs: H, windows: 100, rng }),
    );
    c.accept(topic(a, 'report'), after);
    await c.ingest.drain();
    c.accept(topic(a, 'report'), before); // late redelivery
    await c.ingest.drain();
    const rollbacks = () =>
      c.store.incidents({ fromMs: 0, toMs: T0 + 10 * H, kinds: ['rollback'] }).map((i) => i.detail);
    expect(rollbacks()).toEqual([]);
    c.accept(topic(a, 'report'), back); // a real rollback, later in report time
    await c.ingest.drain();
    expect(rollbacks()).toEqual([{ fromSequence: 2, toSequence: 1, toBundleId: model.bundleId }]);
  });

  it('records incidents: device safety events, drift events, update rejections, inferred rollback, suppression, revocation', async () => {
    const clock = { now: T0 };
    const c = make(tmpDb(), clock);
    c.registerModel(model.registration);
    const v2 = referenceModel('fall-detector', '1.1.0', 2);
    c.registerModel(v2.registration);
    const a = makeDevice('ward-3', 'a');
    c.enrol(enrolmentOf(a));
    const rng = new Rng(3);
    c.accept(
      topic(a, 'report'),
      signedReport(a, simulateReport(a, v2, { startMs: T0, intervalMs: H, windows: 100, rng })),
    );
    c.accept(
      topic(a, 'report'),
      signedReport(a, simulateReport(a, model, { startMs: T0 + H, intervalMs: H, windows: 100, rng })),
    );
    send(c, a, 2, rng, { suppressedSinceMs: T0 + 2 * H, revokedWindows: 7 });
    c.accept(
      topic(a, 'event'),
      safetyEvent(a, 'freeze', T0 + 5, { family: 'fall-detector', detail: 'release frozen by QA' }),
    );
    c.accept(topic(a, 'event'), driftEvent(a, model, T0 + 6));
    c.accept(topic(a, 'update/status'), updateStatus(a, 'rejected', T0 + 7));
    await c.ingest.drain();
    const kinds = c.store.incidents({ fromMs: 0, toMs: T0 + 10 * H }).map((i) => `${i.kind}/${i.source}`);
    expect(kinds.sort()).toEqual(
      [
        'drift-alarm/device',
        'freeze/device',
        'revocation/inferred',
        'rollback/inferred',
        'suppression/inferred',
        'update-rejected/device',
      ].sort(),
    );
  });

  it('recovers journalled messages after a crash (at-least-once), deduping what was already stored', async () => {
    const clock = { now: T0 };
    const db = tmpDb();
    const crashed = make(db, clock, { flushIntervalMs: 60_000, flushMaxMessages: 100_000 });
    crashed.registerModel(model.registration);
    const a = makeDevice('ward-3', 'a');
    crashed.enrol(enrolmentOf(a));
    const rng = new Rng(4);
    for (let h = 0; h < 5; h++) send(crashed, a, h, rng);
    expect(crashed.store.journal(100).length).toBe(5); // acknowledged to the broker only once journalled
    const restarted = make(db, clock);
    expect(restarted.ingest.recover()).toBe(5);
    await restarted.ingest.drain();
    expect(restarted.overview().ingest.accepted.report).toBe(5);
    await crashed.close(); // its queue is processed too: all duplicates now
    expect(restarted.overview().ingest.duplicates).toBe(5);
    expect(restarted.store.journal(100)).toEqual([]);
  });

  it('refuses to reopen a database with another window', () => {
    const db = tmpDb();
    const clock = { now: T0 };
    make(db, clock, { bucketMs: 600_000 });
    expect(() => make(db, clock, { bucketMs: H })).toThrow(expect.objectContaining({ code: 'BAD_OPTIONS' }));
    expect(make(db, clock).options.bucketMs).toBe(600_000);
  });
});

describe('Collector drift alerts', () => {
  it('a cohort alert never rests on one device, and the weight of one device is capped (raising and masking)', async () => {
    const alerts = async (
      maxDeviceWeight: number,
      honestGain: number,
      rogueGain: number,
    ): Promise<number> => {
      const clock = { now: T0 };
      const c = make(tmpDb(), clock, { evaluationGraceMs: 0, alertRule: { maxDeviceWeight } });
      c.registerModel(model.registration);
      const rng = new Rng(11);
      const honest = Array.from({ length: 8 }, (_, i) =>
        makeDevice('ward-3', `h${String(i)}`, { cohort: 'c' }),
      );
      const rogue = makeDevice('ward-3', 'rogue', { cohort: 'c' });
      for (const d of [...honest, rogue]) c.enrol(enrolmentOf(d));
      for (let h = 0; h < 6; h++) {
        clock.now = T0 + (h + 1) * H;
        for (const d of honest) {
          const r = simulateReport(d, model, {
            startMs: T0 + h * H,
            intervalMs: H,
            windows: 1800,
            rng,
            gain: h >= 1 ? honestGain : 1,
          });
          c.accept(topic(d, 'report'), signedReport(d, r));
        }
        // Within the plausibility bound (4 windows/s), eight times an honest device's windows.
        const r = simulateReport(rogue, model, {
          startMs: T0 + h * H,
          intervalMs: H,
          windows: 14_400,
          rng,
          gain: h >= 1 ? rogueGain : 1,
        });
        c.accept(topic(rogue, 'report'), signedReport(rogue, r));
        await c.ingest.drain();
        c.tick();
      }
      clock.now = T0 + 8 * H;
      c.tick();
      return c.store.alerts({}).length;
    };
    // Raising: only the rogue drifts — its finding does not survive leaving it out, cap or not.
    expect(await alerts(1e6, 1, 1.5)).toBe(0);
    expect(await alerts(2, 1, 1.5)).toBe(0);
    // Masking: the cohort drifts but the rogue, with eight times the windows, reports the reference;
    // capped at twice the median device it hides less of the drift.
    const masked = await alerts(1e6, 1.15, 1);
    expect(await alerts(2, 1.15, 1)).toBeGreaterThan(masked);
  });

  it("a device whose clock runs far ahead is refused and cannot close the fleet's windows before their data", async () => {
    const alertsWith = async (rogueAheadMs: number | null): Promise<number> => {
      const clock = { now: T0 };
      const c = make(tmpDb(), clock, { evaluationGraceMs: 15 * 60_000, maxClockSkewMs: 10 * 60_000 });
      c.registerModel(model.registration);
      const rng = new Rng(7);
      const devices = Array.from({ length: 12 }, (_, i) => makeDevice('ward-3', `h${String(i)}`));
      for (const d of devices) c.enrol(enrolmentOf(d));
      const report = (d: SimDevice, startMs: number, gain: number, windows = 1800) => {
        c.accept(
          topic(d, 'report'),
          signedReport(d, simulateReport(d, model, { startMs, intervalMs: H, windows, rng, gain })),
        );
      };
      for (const d of devices) report(d, T0 - H, 1);
      if (rogueAheadMs !== null) {
        const rogue = makeDevice('ward-3', 'rogue');
        c.enrol(enrolmentOf(rogue));
        report(rogue, T0 + rogueAheadMs, 1, 10);
      }
      await c.ingest.drain();
      c.tick();
      // Real time passes; the whole fleet drifts; each hour's reports arrive a minute after the hour.
      for (let h = 0; h < 5; h++) {
        clock.now = T0 + (h + 1) * H + 60_000;
        for (const d of devices) report(d, T0 + h * H, 1.3);
        await c.ingest.drain();
        for (let t = 0; t < 30; t++) c.tick();
      }
      clock.now = T0 + 8 * H;
      c.tick();
      if (rogueAheadMs !== null) expect(c.overview().ingest.rejected.CLOCK_SKEW).toBe(1);
      return c.store.alerts({}).length;
    };
    const honest = await alertsWith(null);
    expect(honest).toBeGreaterThan(0);
    expect(await alertsWith(30 * 24 * H)).toBe(honest);
  });

  it('evaluates windows in event time when device clocks run ahead of the collector (simulations)', async () => {
    const clock = { now: T0 }; // the collector's clock stands still
    const c = make(tmpDb(), clock, { evaluationGraceMs: 0 });
    c.registerModel(model.registration);
    const d = makeDevice('ward-3', 'sim-0', { cohort: 'drifted' });
    c.enrol(enrolmentOf(d));
    const rng = new Rng(6);
    for (let h = 0; h < 5; h++) send(c, d, h, rng, { gain: h >= 1 ? 1.3 : 1 });
    await c.ingest.drain();
    const s = c.tick();
    expect(s.windows).toBe(4); // the newest window stays open until data of a later one arrive
    expect(c.store.alerts({}).length).toBeGreaterThan(0);
    expect(c.latestDataMs()).toBe(T0 + 5 * H);
  });

  it('alerts for the drifted cohort only, with evidence, and runs the acknowledge → resolve lifecycle', async () => {
    const clock = { now: T0 };
    const c = make(tmpDb(), clock, { alertRule: { consecutiveWindows: 2 } });
    c.registerModel(model.registration);
    const devices = ['drifted', 'control-a', 'control-b'].flatMap((cohort) =>
      [0, 1, 2].map((i) => makeDevice('ward-3', `${cohort}-${i}`, { cohort })),
    );
    for (const d of devices) c.enrol(enrolmentOf(d));
    const rng = new Rng(5);
    const hours = 5;
    const opened: number[] = [];
    for (let h = 0; h < hours; h++) {
      for (const d of devices)
        send(c, d, h, rng, { gain: d.cohort === 'drifted' && h >= 2 ? 1.3 : 1, labelShare: 0.05 });
      await c.ingest.drain();
      clock.now = T0 + (h + 1) * H;
      const summary = c.tick();
      expect(summary.windows).toBe(1);
      opened.push(...summary.opened);
      if (h < 3) expect(summary.opened).toEqual([]); // needs two windows with a finding
    }
    const alerts = c.store.alerts({});
    expect(alerts.length).toBeGreaterThan(3);
    expect(opened.length).toBe(alerts.length);
    expect(new Set(alerts.map((a) => a.groupValue))).toEqual(new Set(['drifted']));
    const a = alerts.find((x) => x.variableName === 'acc_mag_mean_g');
    expect(a).toBeDefined();
    const alert = must(a);
    expect(alert.state).toBe('open');
    expect(alert.evidence.bundle.manifestSha256).toBe(model.manifestSha256);
    expect(alert.evidence.windows.length).toBe(3); // 2 to open, then extended by the next window
    expect(alert.evidence.windows[0]?.startMs).toBe(T0 + 2 * H);
    expect(alert.evidence.devices.map((d) => d.device).sort()).toEqual([
      'drifted-0',
      'drifted-1',
      'drifted-2',
    ]);
    expect(alert.evidence.devices[0]?.reports.length).toBeGreaterThan(0);
    expect(alert.evidence.rule).toContain('2 consecutive windows');
    // Lifecycle: resolve needs an acknowledgement first; names and comments are validated.
    expect(() => c.alerts.resolve(alert.id, 'Dr Who', 'fixed')).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }),
    );
    expect(() => c.alerts.acknowledge(alert.id, '', 'x')).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    );
    expect(() => c.alerts.acknowledge(alert.id, 'A\u0007', 'x')).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    );
    expect(() => c.alerts.acknowledge(alert.id, 'Ana', 'x'.repeat(2001))).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    );
    expect(() => c.alerts.acknowledge(999_999, 'Ana', 'x')).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
    const acked = c.alerts.acknowledge(alert.id, 'Dr Ana Lima', 'Asked site to check the wrist-band sensor');
    expect(acked.state).toBe('acknowledged');
    expect(() => c.alerts.acknowledge(alert.id, 'Dr Ana Lima', 'again')).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }),
    );
    const resolved = c.alerts.resolve(
      alert.id,
      'Bo QA',
      'Sensor firmware gain bug confirmed; devices recalled',
    );
    expect(resolved.resolved?.by).toBe('Bo QA');
    expect(c.alerts.history(alert.id).map((h) => h.action)).toEqual(['opened', 'acknowledged', 'resolved']);
    // The drift persists: a new alert needs the rule's two further windows again.
    for (let h = hours; h < hours + 2; h++) {
      for (const d of devices) send(c, d, h, rng, { gain: d.cohort === 'drifted' ? 1.3 : 1 });
      await c.ingest.drain();
      clock.now = T0 + (h + 1) * H;
      c.tick();
      const reopened = c.store.alerts({ state: 'open' }).filter((x) => x.key === alert.key);
      expect(reopened.length).toBe(h === hours ? 0 : 1);
    }
    // Analytics agree: the drift series shows findings for the drifted cohort only.
    const drift = c.analytics.drift(model.manifestSha256, { fromMs: T0, toMs: clock.now });
    const mag = must(drift.variables.find((v) => v.name === 'acc_mag_mean_g'));
    expect(mag.series.drifted?.finding.slice(0, 2)).toEqual([false, false]);
    expect(mag.series.drifted?.finding.slice(2).every(Boolean)).toBe(true);
    expect(mag.series['control-a']?.finding.some(Boolean)).toBe(false);
    const perf = c.analytics.performance(model.manifestSha256, { fromMs: T0, toMs: clock.now });
    expect(perf.overall.labelled).toBeGreaterThan(100);
    expect(perf.overall.cbpe?.specificity).toBeGreaterThan(0.9);
    const ops = c.analytics.operations(model.manifestSha256, { fromMs: T0, toMs: clock.now });
    expect(ops.overall.fallbackRate).toBeCloseTo(0.04, 2);
    expect(ops.overall.alertsPerDeviceDay).toBeGreaterThan(0);
  });
});
