// A pipeline observer that writes fallback episodes (start and end, never every window) and alerts
// as structured log events — for a pino logger or anything with the same two methods. Events carry
// ids, reasons and counts only: never samples or features (DESIGN.md "Logs").
import type { PipelineObserver } from './observer.ts';

export interface EpisodeLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export function episodeLogger(log: EpisodeLog): PipelineObserver {
  return {
    onEvent(event) {
      switch (event.kind) {
        case 'fallback-episode-start':
          log.warn(
            {
              event: event.kind,
              streamId: event.streamId,
              modelFamily: event.modelFamily,
              bundleId: event.bundleId,
              reason: event.reason,
              atMs: event.atMs,
            },
            'fallback episode started',
          );
          return;
        case 'fallback-episode-end':
          log.info(
            {
              event: event.kind,
              streamId: event.streamId,
              modelFamily: event.modelFamily,
              bundleId: event.bundleId,
              reason: event.reason,
              reasons: event.reasons,
              startMs: event.startMs,
              endMs: event.endMs,
              windows: event.windows,
            },
            'fallback episode ended',
          );
          return;
        case 'alert':
          log.warn(
            {
              event: event.kind,
              resultId: event.resultId,
              streamId: event.streamId,
              modelFamily: event.modelFamily,
              bundleId: event.bundleId,
              label: event.label,
              source: event.source,
              atMs: event.atMs,
            },
            'alert raised',
          );
          return;
      }
    },
  };
}
