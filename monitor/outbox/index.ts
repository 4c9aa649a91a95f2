// Public API of the durable outbox (issue 7; docs/telemetry.md "Outbox").
export { Outbox } from './outbox.ts';
export type {
  ClassStats,
  EnqueueInput,
  EnqueueResult,
  EvictionReason,
  EvictionRecord,
  OutboxDeps,
  OutboxEntry,
  OutboxStats,
} from './outbox.ts';
export {
  MESSAGE_CLASSES,
  defaultTopicSuffix,
  evictionTier,
  isMessageClass,
  topicSuffixProblem,
} from './classes.ts';
export type { EvictionTier, MessageClass } from './classes.ts';
export { OUTBOX_DEFAULTS, resolveOutboxOptions } from './options.ts';
export type { OutboxOptions } from './options.ts';
export { OutboxError } from './errors.ts';
export type { OutboxErrorCode } from './errors.ts';
