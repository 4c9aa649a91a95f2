// Missing-chunk ranges: `need` statuses carry [start, endExclusive) pairs so a device can ask for
// what it lacks in a few bytes even for thousands of chunks.

export type ChunkRange = readonly [start: number, endExclusive: number];

/** The ranges of indices whose flag is 0, at most `maxRanges` of them (the first ones). */
export function missingRanges(received: Uint8Array, maxRanges: number): ChunkRange[] {
  const out: ChunkRange[] = [];
  let start = -1;
  for (let i = 0; i <= received.length; i += 1) {
    const missing = i < received.length && received[i] === 0;
    if (missing && start < 0) start = i;
    if (!missing && start >= 0) {
      out.push([start, i]);
      start = -1;
      if (out.length === maxRanges) break;
    }
  }
  return out;
}

/** Expands ranges to indices below `count`, ignoring anything out of range or inverted. */
export function expandRanges(ranges: readonly ChunkRange[], count: number): number[] {
  const out = new Set<number>();
  for (const [a, b] of ranges) {
    for (let i = Math.max(0, a); i < Math.min(b, count); i += 1) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}
