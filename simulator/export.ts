// File encodings of a simulated signal: CSV (header row, time_s first) and CBOR (typed arrays as
// RFC 8746 typed-array tags via cbor-x). Both are deterministic: same signal -> same bytes.
import { Encoder } from 'cbor-x';
import type { SimulatedSignal } from './signal.ts';

/** Shortest decimal that reads back to the same float32 (at most 9 significant digits). */
export function formatFloat32(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  const f = Math.fround(v);
  for (let p = 1; p < 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return String(s);
  }
  return String(Number(f.toPrecision(9)));
}

function timeOf(i: number, rateHz: number): string {
  return String(i / rateHz);
}

/** CSV text; columns depend on the kind (see docs/simulator.md). */
export function toCsv(sig: SimulatedSignal): string {
  const lines: string[] = [];
  switch (sig.kind) {
    case 'ecg':
    case 'ppg': {
      lines.push(`time_s,${sig.kind === 'ecg' ? 'ecg_mv' : 'ppg_au'},missing,lead_off`);
      for (let i = 0; i < sig.samples.length; i++) {
        const lead = (sig.flags[i] ?? 0) & 1;
        lines.push(
          `${timeOf(i, sig.rateHz)},${formatFloat32(sig.samples[i] ?? Number.NaN)},${sig.missing[i] ?? 0},${lead}`,
        );
      }
      break;
    }
    case 'accel':
      lines.push('time_s,x_g,y_g,z_g,missing');
      for (let i = 0; i < sig.x.length; i++) {
        lines.push(
          `${timeOf(i, sig.rateHz)},${formatFloat32(sig.x[i] ?? Number.NaN)},${formatFloat32(sig.y[i] ?? Number.NaN)},${formatFloat32(sig.z[i] ?? Number.NaN)},${sig.missing[i] ?? 0}`,
        );
      }
      break;
    case 'rr':
      lines.push('time_s,rr_ms,kind');
      for (let i = 0; i < sig.beatTimesS.length; i++) {
        const t = Math.round((sig.beatTimesS[i] ?? 0) * 1e6) / 1e6;
        const rr = Math.round((sig.rrMs[i] ?? 0) * 1e3) / 1e3;
        lines.push(`${t},${rr},${sig.beatKinds[i] ?? 'N'}`);
      }
      break;
  }
  return lines.join('\n') + '\n';
}

const encoder = new Encoder({ useRecords: false, tagUint8Array: false, pack: false });

/** CBOR map `{format: 'vigil-sim-signal/1', ...signal}` with typed arrays as typed-array tags. */
export function toCbor(sig: SimulatedSignal): Uint8Array {
  return encoder.encode({ format: 'vigil-sim-signal/1', ...sig });
}
