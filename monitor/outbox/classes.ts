// Message classes and the eviction order (issue 7: "routine reports go first; alerts, audit
// checkpoints and safety events last").

export const MESSAGE_CLASSES = [
  'routine-report',
  'event',
  'update-status',
  'alert',
  'audit-checkpoint',
  'safety-event',
] as const;

export type MessageClass = (typeof MESSAGE_CLASSES)[number];

/** Eviction tier: tier 0 is evicted first, tier 2 last; within a tier the oldest entry goes first. */
export type EvictionTier = 0 | 1 | 2;

export function evictionTier(cls: MessageClass): EvictionTier {
  switch (cls) {
    case 'routine-report':
      return 0;
    case 'event':
    case 'update-status':
      return 1;
    case 'alert':
    case 'audit-checkpoint':
    case 'safety-event':
      return 2;
  }
}

export function isMessageClass(value: unknown): value is MessageClass {
  return typeof value === 'string' && (MESSAGE_CLASSES as readonly string[]).includes(value);
}

/** The topic suffix each class is published under (docs/telemetry.md). */
export function defaultTopicSuffix(cls: MessageClass): string {
  switch (cls) {
    case 'routine-report':
      return 'report';
    case 'event':
    case 'alert':
    case 'safety-event':
      return 'event';
    case 'audit-checkpoint':
      return 'audit';
    case 'update-status':
      return 'update/status';
  }
}

/**
 * A suffix below `vigil/v1/{fleet}/{device}/`: lower-case segments, no wildcards, and never the
 * device's inbound namespaces (`cmd/…`, `update/transfer/…`) or the birth/death `state` topic.
 */
const SUFFIX = /^[a-z0-9][a-z0-9-]{0,31}(?:\/[a-z0-9][a-z0-9-]{0,31}){0,3}$/;

export function topicSuffixProblem(suffix: string): string | null {
  if (!SUFFIX.test(suffix)) return 'must be 1–4 lower-case segments of [a-z0-9-]';
  if (suffix === 'state') return '`state` is the birth/death topic, published by the client itself';
  if (suffix === 'cmd' || suffix.startsWith('cmd/')) return '`cmd/…` is the inbound command namespace';
  if (suffix.startsWith('update/transfer')) return '`update/transfer/…` is the inbound update namespace';
  return null;
}
