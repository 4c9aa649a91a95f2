// The JSON equivalent of a report: the decoded TypeScript form with named keys and dense arrays, as a
// plain JSON document would carry it. Used as the size baseline (bench/report.bench.ts) and for
// human-readable fixtures; it is not a wire format.
import type { TelemetryReport } from './types.ts';

export function jsonEquivalent(report: TelemetryReport): string {
  return JSON.stringify(report);
}
