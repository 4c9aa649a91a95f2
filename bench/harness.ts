// Benchmark figures as DESIGN.md prescribes: one JSON object per figure, measured as a ratio against a
// baseline in the same run (the machines are shared and noisy), plus plain figures where asked.
import os from 'node:os';

export interface BenchFigure {
  /** Family prefix from DESIGN.md: `pipeline-…`, `bundle-…`, `bridge-…`, `collector-…`, `report-…`. */
  readonly bench: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: string;
  /** The goal, e.g. `>=0.8` or `<20`; empty when the figure is informational. */
  readonly goal: string;
}

export interface BenchRecord extends BenchFigure {
  readonly node: string;
  readonly cpus: number;
  readonly at: string;
}

/** A benchmark module under bench/ exports `name` and `run`. */
export interface BenchModule {
  readonly name: string;
  run(log: (line: string) => void): Promise<readonly BenchFigure[]>;
}

export function toRecord(figure: BenchFigure, now: Date): BenchRecord {
  return { ...figure, node: process.version, cpus: os.cpus().length, at: now.toISOString() };
}

/** Whether a value meets a goal written as `>=x`, `<=x`, `<x` or `>x` (empty goal: informational). */
export function meetsGoal(value: number, goal: string): boolean | null {
  const match = /^(>=|<=|<|>)(-?\d+(?:\.\d+)?)$/.exec(goal.trim());
  if (!match) return null;
  const bound = Number(match[2]);
  const op = match[1] as '>=' | '<=' | '<' | '>';
  switch (op) {
    case '>=':
      return value >= bound;
    case '<=':
      return value <= bound;
    case '<':
      return value < bound;
    case '>':
      return value > bound;
  }
}

/** Percentile (nearest-rank) of an unsorted sample; NaN for an empty one. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}
