// Streams scenarios through a reference pipeline and tallies, per ground-truth class, which windows
// the gate (quality, motion, SQI, features, OOD) kept from the model.
import type { FallbackReason, WindowResult } from '../../../../runtime/pipeline/index.ts';
import type { ReferencePipeline } from './reference.ts';
import { framesOf, windowTruth, type Scenario, type TruthLimits, type WindowTruth } from './scenarios.ts';

/** Fallbacks that happen after the model was asked: the window did reach it. */
const AFTER_MODEL: readonly FallbackReason[] = ['INFERENCE_ERROR', 'DEADLINE_MISS'];

export function refused(result: WindowResult): boolean {
  return result.status.kind === 'fallback' && !AFTER_MODEL.includes(result.status.reason);
}

export interface JudgedWindow {
  readonly scenario: string;
  readonly result: WindowResult;
  readonly truth: WindowTruth;
  readonly refused: boolean;
}

/** Pushes every scenario's frames (draining now and then) and returns each result with its truth. */
export async function judgeScenarios(
  rp: ReferencePipeline,
  scenarios: readonly Scenario[],
  sensor: 'accel' | 'ecg',
  limits: TruthLimits,
): Promise<JudgedWindow[]> {
  const byStream = new Map<string, WindowResult[]>();
  const off = rp.pipeline.onResult((r) => {
    let list = byStream.get(r.streamId);
    if (!list) {
      list = [];
      byStream.set(r.streamId, list);
    }
    list.push(r);
  });
  for (const s of scenarios) {
    rp.pipeline.openStream({
      deviceId: s.deviceId,
      streamId: s.streamId,
      sensor,
      rateHz: s.rateHz,
      channelCount: s.channels.length,
      cohort: s.cohort,
    });
    let k = 0;
    for (const frame of framesOf(s)) {
      rp.pipeline.push(frame);
      if (++k % 200 === 0) await rp.pipeline.drain();
    }
    await rp.pipeline.drain();
    rp.pipeline.closeStream(s.streamId);
  }
  off();
  const out: JudgedWindow[] = [];
  for (const s of scenarios) {
    for (const result of byStream.get(s.streamId) ?? []) {
      const length = result.lastCounter - result.firstCounter + 1;
      out.push({
        scenario: s.name,
        result,
        truth: windowTruth(s, result.firstCounter, length, limits),
        refused: refused(result),
      });
    }
  }
  return out;
}

export interface Tally {
  readonly windows: number;
  readonly refused: number;
  readonly rate: number;
}

function tally(list: readonly JudgedWindow[]): Tally {
  const r = list.filter((w) => w.refused).length;
  return { windows: list.length, refused: r, rate: list.length > 0 ? r / list.length : Number.NaN };
}

export interface GateFigures {
  readonly clean: Tally;
  readonly within: Tally;
  readonly exceeds: Tally;
  /** Exceeding windows per artifact kind (a window with several kinds counts under each). */
  readonly exceedsByKind: Readonly<Record<string, Tally>>;
  /** Why clean windows were refused. */
  readonly cleanRefusedBy: Readonly<Record<string, number>>;
  /** Why exceeding windows were refused. */
  readonly exceedsRefusedBy: Readonly<Record<string, number>>;
}

export function gateFigures(judged: readonly JudgedWindow[]): GateFigures {
  const of = (t: string) => judged.filter((w) => w.truth.truth === t);
  const kinds = new Set(judged.flatMap((w) => w.truth.exceeds));
  const reasons = (list: readonly JudgedWindow[]) => {
    const out: Record<string, number> = {};
    for (const w of list) {
      if (w.result.status.kind === 'fallback' && w.refused)
        out[w.result.status.reason] = (out[w.result.status.reason] ?? 0) + 1;
    }
    return out;
  };
  return {
    clean: tally(of('clean')),
    within: tally(of('within')),
    exceeds: tally(of('exceeds')),
    exceedsByKind: Object.fromEntries(
      [...kinds].sort().map((k) => [k, tally(judged.filter((w) => w.truth.exceeds.includes(k)))]),
    ),
    cleanRefusedBy: reasons(of('clean')),
    exceedsRefusedBy: reasons(of('exceeds')),
  };
}

export function formatFigures(name: string, f: GateFigures): string {
  const pct = (t: Tally) => `${(t.rate * 100).toFixed(2)} % of ${t.windows}`;
  const lines = [
    `${name}: exceeding windows kept from the model ${pct(f.exceeds)}; clean windows refused ${pct(f.clean)}; within-policy windows refused ${pct(f.within)}`,
    `  exceeding by kind: ${Object.entries(f.exceedsByKind)
      .map(([k, t]) => `${k} ${t.refused}/${t.windows}`)
      .join(', ')}`,
    `  clean refused by: ${JSON.stringify(f.cleanRefusedBy)}`,
    `  exceeding refused by: ${JSON.stringify(f.exceedsRefusedBy)}`,
  ];
  return lines.join('\n');
}
