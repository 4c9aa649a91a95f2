// Hands report drafts and drift events to the outbox (monitor/outbox, structurally): each payload is
// signed inside the enqueue transaction, so it carries the sequence number the outbox assigns, and
// each report carries the cumulative eviction counters read just before (docs/telemetry-reports.md).
import type { Signer } from '../../models/format/index.ts';
import {
  REPORT_OUTBOX_CLASSES,
  signDriftEvent,
  signReport,
  type ReportOutboxClass,
} from '../report/index.ts';
import type { DeviceMonitor } from './monitor.ts';
import type { DriftEventDraft, ReportDraft } from './types.ts';

/** The part of monitor/outbox Outbox used here. */
export interface ReportOutbox {
  enqueueMany(
    inputs: readonly {
      readonly class: 'routine-report' | 'alert';
      readonly topicSuffix: string;
      readonly payload: (seq: number, createdMs: number) => Uint8Array;
    }[],
  ): readonly { readonly seq: number; readonly stored: boolean }[];
  stats(): { readonly perClass: Readonly<Record<ReportOutboxClass, { readonly evicted: number }>> };
}

function evictedNow(outbox: ReportOutbox): Record<ReportOutboxClass, number> {
  const perClass = outbox.stats().perClass;
  return Object.fromEntries(REPORT_OUTBOX_CLASSES.map((c) => [c, perClass[c].evicted])) as Record<
    ReportOutboxClass,
    number
  >;
}

/** Signs and enqueues reports (class routine-report, topic `report`) in one transaction; returns their sequences. */
export function enqueueReports(
  outbox: ReportOutbox,
  drafts: readonly ReportDraft[],
  signer: Signer,
): number[] {
  if (drafts.length === 0) return [];
  const evicted = evictedNow(outbox);
  const results = outbox.enqueueMany(
    drafts.map((draft) => ({
      class: 'routine-report' as const,
      topicSuffix: 'report',
      payload: (seq: number, createdMs: number) => signReport({ ...draft, seq, createdMs, evicted }, signer),
    })),
  );
  return results.map((r) => r.seq);
}

/** Signs and enqueues a drift event (class alert, topic `event`); returns its sequence. */
export function enqueueDriftEvent(outbox: ReportOutbox, draft: DriftEventDraft, signer: Signer): number {
  const [result] = outbox.enqueueMany([
    {
      class: 'alert',
      topicSuffix: 'event',
      payload: (seq, createdMs) => signDriftEvent({ ...draft, seq, createdMs }, signer),
    },
  ]);
  return result?.seq ?? -1;
}

/**
 * One report cycle for the daemon's interval timer: close finished intervals, enqueue their signed
 * reports, then persist the monitor (a crash between the two re-sends the interval under a new
 * sequence; the collector drops it by its natural key, docs/telemetry-reports.md).
 */
export function reportCycle(
  monitor: DeviceMonitor,
  outbox: ReportOutbox,
  signer: Signer,
  nowMs?: number,
): number[] {
  const seqs = enqueueReports(outbox, monitor.closeInterval(nowMs), signer);
  monitor.persist();
  return seqs;
}
