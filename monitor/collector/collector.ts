// The fleet collector service: wires the store, the enrolment table, the profiles, the ingest path,
// the evaluator (alert rule), the alert service and the analytics (docs/collector.md "Architecture").
// The MQTT connection and the HTTP server are attached by the caller (scripts/cli/collector.ts), so
// tests can feed messages directly and read the same API.
import os from 'node:os';
import type { Manifest } from '../../models/format/index.ts';
import { AlertService } from './alerts.ts';
import { FleetAnalytics } from './analytics.ts';
import { REJECT_CODES } from './classify.ts';
import { EnrolmentTable, addEnrolment } from './enrolments.ts';
import { CollectorError } from './errors.ts';
import { Evaluator, type EvaluationSummary } from './evaluator.ts';
import { Ingestor, newDeviceRecord, type IngestLogger } from './ingest.ts';
import { resolveCollectorOptions, type CollectorOptions, type CollectorOptionsInput } from './options.ts';
import { ProfileCache, parseProfileBytes, sha256Hex } from './profiles.ts';
import { inlineVerifier, workerVerifier, type SignatureVerifier } from './signatures.ts';
import type { CollectorStore } from './store.ts';
import type { DeviceRecord, Enrolment, ModelInfo } from './types.ts';

export interface CollectorDeps {
  readonly store: CollectorStore;
  readonly options?: CollectorOptionsInput;
  /** Only this fleet's messages (null: any fleet the subscription delivers). */
  readonly fleet: string | null;
  readonly now?: () => number;
  readonly logger?: IngestLogger;
  /** Default: worker threads per `verifyThreads` (0: inline). */
  readonly verifier?: SignatureVerifier;
}

/** What the collector needs of a model version: its profile file and the signed manifest's fields. */
export interface ModelRegistration {
  /** The profile file's bytes as shipped in the bundle: its SHA-256 is what reports carry. */
  readonly profileBytes: Uint8Array;
  readonly manifest: {
    readonly manifestSha256: string;
    readonly family: string;
    readonly bundleId: string;
    readonly version: string;
    readonly sequence: number;
    readonly operatingThreshold: number;
    readonly indeterminateLow: number | null;
    readonly statistics: ModelInfo['statistics'];
    readonly reportIntervalS: number;
    readonly intendedUse: string;
    readonly positiveLabel: string;
  } | null;
  readonly source: 'bundle' | 'profile';
  /** What was verified and how (printed in the surveillance report). */
  readonly verification: string | null;
}

/** The registration of a verified bundle's manifest and profile file. */
export function registrationFromManifest(
  manifest: Manifest,
  manifestSha256: string,
  profileBytes: Uint8Array,
  verification: string,
): ModelRegistration {
  return {
    profileBytes,
    manifest: {
      manifestSha256,
      family: manifest.modelFamily,
      bundleId: manifest.bundleId,
      version: manifest.version,
      sequence: manifest.sequence,
      operatingThreshold: manifest.thresholds.operatingThreshold,
      indeterminateLow: manifest.thresholds.indeterminateLow,
      statistics: [...manifest.monitoring.statistics],
      reportIntervalS: manifest.monitoring.reportIntervalS,
      intendedUse: manifest.intendedUse,
      positiveLabel: manifest.output.positive.name,
    },
    source: 'bundle',
    verification,
  };
}

export class Collector {
  readonly options: CollectorOptions;
  readonly store: CollectorStore;
  readonly enrolments: EnrolmentTable;
  readonly profiles: ProfileCache;
  readonly ingest: Ingestor;
  readonly evaluator: Evaluator;
  readonly alerts: AlertService;
  readonly analytics: FleetAnalytics;
  readonly now: () => number;
  readonly fleet: string | null;
  private readonly verifier: SignatureVerifier;
  private timer: NodeJS.Timeout | null = null;
  private lastEvaluation: EvaluationSummary | null = null;
  readonly startedMs: number;

  constructor(deps: CollectorDeps) {
    // The rollups are cut at the window the database was built with: keep using it.
    const stored = deps.store.setting('bucketMs');
    const asked = deps.options?.bucketMs;
    if (stored !== null && asked !== undefined && Number(stored) !== asked) {
      throw new CollectorError(
        'BAD_OPTIONS',
        `this database was built with a ${Number(stored) / 1000} s window; it cannot be read with ${asked / 1000} s`,
      );
    }
    this.options = resolveCollectorOptions({
      ...deps.options,
      ...(stored === null ? {} : { bucketMs: Number(stored) }),
    });
    this.store = deps.store;
    if (stored === null) {
      try {
        this.store.putSetting('bucketMs', String(this.options.bucketMs));
      } catch {
        // A read-only store (reports) keeps the default.
      }
    }
    this.now = deps.now ?? Date.now;
    this.fleet = deps.fleet;
    this.startedMs = this.now();
    this.enrolments = new EnrolmentTable(this.store);
    this.profiles = new ProfileCache((sha) => this.store.profile(sha));
    this.verifier =
      deps.verifier ??
      (this.options.verifyThreads > 0 ? workerVerifier(this.options.verifyThreads) : inlineVerifier());
    this.ingest = new Ingestor({
      store: this.store,
      enrolments: this.enrolments,
      profiles: this.profiles,
      verifier: this.verifier,
      options: this.options,
      now: this.now,
      fleet: this.fleet,
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
    this.evaluator = new Evaluator(this.store, this.profiles, this.options, this.now);
    this.alerts = new AlertService(this.store, this.now);
    this.analytics = new FleetAnalytics(this.store, this.profiles, this.options);
  }

  /** Re-queues journalled messages and starts the periodic evaluation. */
  start(): void {
    this.ingest.recover();
    this.timer ??= setInterval(() => {
      try {
        this.tick();
      } catch {
        // A failing evaluation is retried on the next tick; ingest is unaffected.
      }
    }, this.options.evaluateEveryMs);
    this.timer.unref();
  }

  /** One evaluation pass and gap sweep (the timer calls this; tests call it with a fake clock). */
  tick(): EvaluationSummary {
    this.ingest.sweepGaps(this.now());
    this.lastEvaluation = this.evaluator.run();
    return this.lastEvaluation;
  }

  /** End of the newest rollup bucket (device clock; 0 without data). */
  latestDataMs(): number {
    const b = this.ingest.latestBucketMs;
    return b === null ? 0 : b + this.options.bucketMs;
  }

  accept(topic: string, payload: Uint8Array, seqHint: number | null = null): void {
    this.ingest.accept(topic, payload, this.now(), seqHint);
  }

  get overloaded(): boolean {
    return this.ingest.overloaded;
  }

  whenBelowLimit(): Promise<void> {
    return this.ingest.whenBelowLimit();
  }

  /** Registers a verified model version (profile + manifest fields). */
  registerModel(reg: ModelRegistration): { profileSha256: string; model: ModelInfo | null } {
    const profile = parseProfileBytes(reg.profileBytes);
    const profileSha256 = sha256Hex(reg.profileBytes);
    const nowMs = this.now();
    let model: ModelInfo | null = null;
    if (reg.manifest !== null) {
      const m = reg.manifest;
      if (!/^[0-9a-f]{64}$/.test(m.manifestSha256)) {
        throw new CollectorError('BAD_PROFILE', 'manifestSha256 must be 64 lower-case hex digits');
      }
      const names = profile.features.map((f) => f.name);
      if (names.length === 0) throw new CollectorError('BAD_PROFILE', 'the profile has no features');
      if (!profile.score.edges.includes(m.operatingThreshold)) {
        throw new CollectorError(
          'BAD_PROFILE',
          'the operating threshold is not a score-bin edge of the profile',
        );
      }
      model = {
        manifestSha256: m.manifestSha256,
        profileSha256,
        family: m.family,
        bundleId: m.bundleId,
        version: m.version,
        sequence: m.sequence,
        operatingThreshold: m.operatingThreshold,
        indeterminateLow: m.indeterminateLow,
        statistics: m.statistics,
        reportIntervalS: m.reportIntervalS,
        intendedUse: m.intendedUse,
        positiveLabel: m.positiveLabel,
        source: reg.source,
        verification: reg.verification,
        registeredMs: nowMs,
      };
    }
    this.store.write((w) => {
      this.store.putProfile(profileSha256, profile, nowMs);
      if (model !== null) w.upsertModel(model);
    });
    this.profiles.invalidate(profileSha256);
    return { profileSha256, model };
  }

  enrol(enrolment: Enrolment): void {
    addEnrolment(this.store, enrolment);
    this.enrolments.add(enrolment);
  }

  retire(fleet: string, device: string, by: string, reason: string): number {
    const n = this.store.retireDevice(fleet, device, this.now(), by, reason);
    this.enrolments.reload();
    return n;
  }

  /** Devices with their derived online state (`silent`: online but no message for silentAfterMs). */
  devices(): (DeviceRecord & { status: string; site: string; retired: boolean; enrolled: boolean })[] {
    const nowMs = this.now();
    const records = new Map(this.ingest.deviceRecords().map((d) => [d.device, d]));
    const enrolled = this.enrolments.list();
    for (const e of enrolled) {
      if (!records.has(e.device)) {
        records.set(e.device, newDeviceRecord(e.fleet, e.device));
      }
    }
    return [...records.values()]
      .map((d) => {
        const active = this.enrolments.isActive(d.fleet, d.device);
        const retired = !active && this.enrolments.isRetired(d.fleet, d.device);
        const silent =
          d.online === 'online' && d.lastSeenMs !== null && nowMs - d.lastSeenMs > this.options.silentAfterMs;
        return {
          ...d,
          status: retired ? 'retired' : silent ? 'silent' : d.online,
          site: this.enrolments.site(d.fleet, d.device),
          retired,
          enrolled: active,
        };
      })
      .sort((a, b) => a.device.localeCompare(b.device));
  }

  /** The fleet at a glance (dashboard header, `GET /api/v1/overview`). */
  overview() {
    const counters = this.store.counters();
    const rejected: Record<string, number> = {};
    for (const code of REJECT_CODES) rejected[code] = counters[`rejected.${code}`] ?? 0;
    rejected.STORE_FAILED = counters['rejected.STORE_FAILED'] ?? 0;
    const devices = this.devices();
    const status: Record<string, number> = { online: 0, offline: 0, silent: 0, unknown: 0, retired: 0 };
    let pendingGaps = 0;
    let lostGaps = 0;
    let lateMessages = 0;
    let evictedGaps = 0;
    for (const d of devices) {
      status[d.status] = (status[d.status] ?? 0) + 1;
      pendingGaps += d.sequence?.pending.reduce((n, g) => n + g.end - g.start, 0) ?? 0;
      lostGaps += d.sequence?.lost ?? 0;
      lateMessages += d.sequence?.late ?? 0;
      evictedGaps += d.sequence?.evicted ?? 0;
    }
    const nowMs = this.now();
    const usage = this.analytics.usage({ fromMs: nowMs - 7 * 86_400_000, toMs: nowMs + 86_400_000 });
    const models = this.store.models().map((m) => {
      const u = usage.filter((x) => x.manifestSha256 === m.manifestSha256);
      return {
        ...this.analytics.modelSummary(m),
        devices7d: u.reduce((n, x) => Math.max(n, x.devices), 0),
        hours7d: u.reduce((n, x) => n + x.hours, 0),
        openAlerts: this.store.alerts({ state: 'open', manifestSha256: m.manifestSha256 }).length,
        acknowledgedAlerts: this.store.alerts({ state: 'acknowledged', manifestSha256: m.manifestSha256 })
          .length,
      };
    });
    let totalRejected = 0;
    for (const v of Object.values(rejected)) totalRejected += v;
    return {
      fleet: this.fleet,
      nowMs,
      startedMs: this.startedMs,
      host: os.hostname(),
      devices: { total: devices.length, ...status },
      ingest: {
        received: counters.received ?? 0,
        accepted: {
          report: counters['accepted.report'] ?? 0,
          driftEvent: counters['accepted.drift-event'] ?? 0,
          safetyEvent: counters['accepted.safety-event'] ?? 0,
          checkpoint: counters['accepted.checkpoint'] ?? 0,
          updateStatus: counters['accepted.update-status'] ?? 0,
          state: counters['accepted.state'] ?? 0,
        },
        rejected,
        totalRejected,
        duplicates: counters.duplicates ?? 0,
        /** Same (device, seq), different signed bytes: each raised an equivocation incident. */
        conflicts: counters.conflicts ?? 0,
        late: counters.late ?? 0,
        staleState: counters.staleState ?? 0,
        queued: this.ingest.queued,
        recentRejections: this.ingest.recentRejections().slice(-20).reverse(),
      },
      gaps: { pending: pendingGaps, late: lateMessages, evicted: evictedGaps, lost: lostGaps },
      audit: { findings: counters.auditFindings ?? 0 },
      alerts: {
        open: this.store.alerts({ state: 'open' }).length,
        acknowledged: this.store.alerts({ state: 'acknowledged' }).length,
      },
      models,
      lastEvaluation: this.lastEvaluation,
      rule: this.options.alertRule,
      bucketMs: this.options.bucketMs,
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ingest.close();
    await this.verifier.close();
    this.store.close();
  }
}
