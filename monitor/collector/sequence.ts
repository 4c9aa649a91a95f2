// Per-device sequence accounting (docs/telemetry.md "Sequence numbers and deduplication"). Every outbox
// entry of a device gets a strictly increasing sequence number, shared by all message classes, and the
// outbox drains in sequence order. So a number the collector has not seen while it has seen a higher
// one is a gap, and a gap is one of:
//   pending  not seen yet: still in flight or buffered (a redelivery after a reconnect may fill it)
//   late     it arrived after a higher number (filled: nothing lost)
//   evicted  the device's cumulative eviction counters (carried in its reports) explain it: it will
//            never come, and the device said so
//   lost     still missing `lostAfterMs` after the gap opened, unexplained
// Duplicates are not decided here: the store's (device, seq) key is the authority, and only messages
// the store took for the first time are observed. Accounting starts at the first accepted number (what
// a device sent before it was enrolled is not a gap).

export type GapState = 'pending' | 'late' | 'evicted' | 'lost';

export interface Gap {
  /** First missing sequence number. */
  readonly start: number;
  /** One past the last missing number. */
  readonly end: number;
  readonly openedMs: number;
}

export interface DeclaredGap extends Gap {
  readonly state: 'evicted' | 'lost';
  readonly declaredMs: number;
}

export interface SequenceSnapshot {
  readonly first: number;
  readonly highest: number;
  readonly pending: readonly Gap[];
  /** Most recent gaps declared evicted or lost (bounded). */
  readonly declared: readonly DeclaredGap[];
  readonly late: number;
  readonly evicted: number;
  readonly lost: number;
  /** Numbers dropped from accounting because the pending list was full (counted as lost too). */
  readonly overflowed: number;
  /** Largest cumulative eviction total a report carried (−1 before the first report). */
  readonly evictedReported: number;
}

export type Observation =
  | { readonly kind: 'new'; readonly opened: number }
  | { readonly kind: 'late'; readonly wasDeclared: 'evicted' | 'lost' | null }
  | { readonly kind: 'before-first' }
  /** Further ahead than any outbox could have buffered: not accounted as a gap (see maxJump). */
  | { readonly kind: 'jump'; readonly ahead: number };

export const SEQUENCE_LIMITS = Object.freeze({
  maxPendingGaps: 1024,
  maxDeclaredGaps: 256,
  /**
   * A number this far past the highest one is a broken or hostile device, not messages in flight: it
   * neither opens a gap (which would count millions of "lost" messages fleet-wide) nor moves the highest.
   */
  maxJump: 1_000_000,
});

export class SequenceTracker {
  private first = -1;
  private highest = -1;
  private pending: Gap[] = [];
  private declared: DeclaredGap[] = [];
  private lateCount = 0;
  private evictedCount = 0;
  private lostCount = 0;
  private overflowed = 0;
  private evictedReported = -1;

  static restore(s: SequenceSnapshot): SequenceTracker {
    const t = new SequenceTracker();
    t.first = s.first;
    t.highest = s.highest;
    t.pending = s.pending.map((g) => ({ ...g }));
    t.declared = s.declared.map((g) => ({ ...g }));
    t.lateCount = s.late;
    t.evictedCount = s.evicted;
    t.lostCount = s.lost;
    t.overflowed = s.overflowed;
    t.evictedReported = s.evictedReported;
    return t;
  }

  snapshot(): SequenceSnapshot {
    return {
      first: this.first,
      highest: this.highest,
      pending: this.pending.map((g) => ({ ...g })),
      declared: this.declared.map((g) => ({ ...g })),
      late: this.lateCount,
      evicted: this.evictedCount,
      lost: this.lostCount,
      overflowed: this.overflowed,
      evictedReported: this.evictedReported,
    };
  }

  /** Sequence numbers currently pending (missing, may still come). */
  get pendingCount(): number {
    let n = 0;
    for (const g of this.pending) n += g.end - g.start;
    return n;
  }

  get highestSeq(): number {
    return this.highest;
  }

  /** A message the store accepted for the first time. */
  observe(seq: number, nowMs: number): Observation {
    if (this.first < 0) {
      this.first = seq;
      this.highest = seq;
      return { kind: 'new', opened: 0 };
    }
    if (seq > this.highest) {
      if (seq - this.highest > SEQUENCE_LIMITS.maxJump) return { kind: 'jump', ahead: seq - this.highest };
      const opened = seq - this.highest - 1;
      if (opened > 0) this.openGap({ start: this.highest + 1, end: seq, openedMs: nowMs }, nowMs);
      this.highest = seq;
      return { kind: 'new', opened };
    }
    if (seq < this.first) return { kind: 'before-first' };
    this.lateCount += 1;
    if (this.fill(this.pending, seq)) return { kind: 'late', wasDeclared: null };
    const i = this.declared.findIndex((g) => seq >= g.start && seq < g.end);
    const g = this.declared[i];
    if (g !== undefined) {
      this.declared.splice(i, 1, ...split(g, seq));
      if (g.state === 'lost') this.lostCount -= 1;
      else this.evictedCount -= 1;
      return { kind: 'late', wasDeclared: g.state };
    }
    // Seen before the store was reset, or accounting overflowed: late, nothing to fill.
    return { kind: 'late', wasDeclared: null };
  }

  /**
   * A report's cumulative eviction total (all classes). Evictions since the previous report explain
   * that many of the oldest pending numbers (the outbox evicts oldest first).
   */
  explainEvictions(totalEvicted: number, nowMs: number): number {
    if (this.evictedReported < 0) {
      this.evictedReported = totalEvicted;
      return 0;
    }
    if (totalEvicted <= this.evictedReported) return 0;
    let budget = totalEvicted - this.evictedReported;
    this.evictedReported = totalEvicted;
    let explained = 0;
    while (budget > 0 && this.pending.length > 0) {
      const g = this.pending[0] as Gap;
      const take = Math.min(budget, g.end - g.start);
      this.declare({ start: g.start, end: g.start + take, openedMs: g.openedMs }, 'evicted', nowMs);
      if (take === g.end - g.start) this.pending.shift();
      else this.pending[0] = { ...g, start: g.start + take };
      budget -= take;
      explained += take;
    }
    this.evictedCount += explained;
    return explained;
  }

  /** Declares pending gaps older than `lostAfterMs` lost; returns how many numbers. */
  sweep(nowMs: number, lostAfterMs: number): number {
    let lost = 0;
    const keep: Gap[] = [];
    for (const g of this.pending) {
      if (nowMs - g.openedMs >= lostAfterMs) {
        lost += g.end - g.start;
        this.declare(g, 'lost', nowMs);
      } else keep.push(g);
    }
    this.pending = keep;
    this.lostCount += lost;
    return lost;
  }

  counts(): { pending: number; late: number; evicted: number; lost: number } {
    return {
      pending: this.pendingCount,
      late: this.lateCount,
      evicted: this.evictedCount,
      lost: this.lostCount,
    };
  }

  private openGap(gap: Gap, nowMs: number): void {
    this.pending.push(gap);
    while (this.pending.length > SEQUENCE_LIMITS.maxPendingGaps) {
      const oldest = this.pending.shift() as Gap;
      const n = oldest.end - oldest.start;
      this.overflowed += n;
      this.lostCount += n;
      this.declare(oldest, 'lost', nowMs);
    }
  }

  private declare(gap: Gap, state: 'evicted' | 'lost', nowMs: number): void {
    this.declared.push({ ...gap, state, declaredMs: nowMs });
    if (this.declared.length > SEQUENCE_LIMITS.maxDeclaredGaps) this.declared.shift();
  }

  private fill(list: Gap[], seq: number): boolean {
    const i = list.findIndex((g) => seq >= g.start && seq < g.end);
    const g = list[i];
    if (g === undefined) return false;
    list.splice(i, 1, ...split(g, seq));
    return true;
  }
}

function split<G extends Gap>(g: G, seq: number): G[] {
  const out: G[] = [];
  if (seq > g.start) out.push({ ...g, end: seq });
  if (seq + 1 < g.end) out.push({ ...g, start: seq + 1 });
  return out;
}
