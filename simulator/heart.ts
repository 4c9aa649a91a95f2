// Glue: a subject's heart (RR series) and its ECG and PPG with the subject's own parameters.
import type { Subject } from './cohorts/subject.ts';
import type { Rng } from './rng.ts';
import { synthEcg } from './signals/ecg.ts';
import { synthPpg } from './signals/ppg.ts';
import type { PpgSignal } from './signals/ppg.ts';
import type { EctopyParams, Exertion, RhythmSegment, RrSeries } from './signals/rr.ts';
import { generateRr } from './signals/rr.ts';

export interface HeartOptions {
  readonly seconds: number;
  readonly rhythm?: readonly RhythmSegment[];
  readonly ectopy?: EctopyParams;
  readonly exertion?: readonly Exertion[];
}

export function subjectRr(subject: Subject, rng: Rng, opts: HeartOptions): RrSeries {
  return generateRr(rng, {
    seconds: opts.seconds,
    hrv: {
      meanHrBpm: subject.restingHrBpm,
      sdnnMs: subject.sdnnMs,
      lfHfRatio: subject.lfHfRatio,
      respRateHz: subject.respRateHz,
    },
    af: { meanHrBpm: subject.afMeanHrBpm, rrCv: subject.afRrCv },
    ...(opts.rhythm ? { rhythm: opts.rhythm } : {}),
    ...(opts.ectopy ? { ectopy: opts.ectopy } : {}),
    ...(opts.exertion ? { exertion: opts.exertion } : {}),
  });
}

/** Clean ECG in mV as the subject's sensor sees it (placement gain applied, no noise). */
export function subjectEcg(
  subject: Subject,
  rr: RrSeries,
  rng: Rng,
  seconds: number,
  rateHz: number,
): Float32Array {
  const s = subject.cohort.sensor;
  return synthEcg(rr, { seconds, rateHz, rAmplitudeMv: subject.rAmplitudeMv * s.ecgGain }, rng);
}

/** Clean PPG (a.u.) with the subject's pulse arrival time and pulse shape. */
export function subjectPpg(
  subject: Subject,
  rr: RrSeries,
  rng: Rng,
  seconds: number,
  rateHz: number,
): PpgSignal {
  return synthPpg(
    rr,
    {
      seconds,
      rateHz,
      pttS: subject.pttS,
      diastolicRatio: Math.min(1, subject.ppgDiastolicRatio),
      amplitude: subject.cohort.sensor.ppgGain,
    },
    rng,
  );
}
