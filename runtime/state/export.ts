// Audit exports: a readable text form (one line per record, for people) and JSONL (one object per
// record, for machines). The JSONL keeps each payload's exact CBOR bytes next to its decoded form, so
// an export can be re-verified away from the device (`vigil audit verify --export FILE`).
import { decode } from 'cbor-x';
import { verifyChain, type AuditRow, type AuditVerdict, type Checkpoint } from './audit.ts';

function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export interface AuditJsonLine {
  readonly seq: number;
  readonly at: string;
  readonly atMs: number;
  readonly kind: string;
  readonly actor: string;
  readonly payload: unknown;
  /** Hex of the payload's CBOR bytes (what the record hash covers). */
  readonly payloadCbor: string;
  readonly prevHash: string;
  readonly hash: string;
}

export function auditJsonLine(row: AuditRow): AuditJsonLine {
  return {
    seq: row.seq,
    at: new Date(row.at_ms).toISOString(),
    atMs: row.at_ms,
    kind: row.kind,
    actor: row.actor,
    payload: plain(decode(row.payload)),
    payloadCbor: Buffer.from(row.payload).toString('hex'),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function renderValue(value: unknown): string {
  if (typeof value === 'string')
    return /^[\w.:@/+-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

/** `#12 2026-01-15T12:00:00.000Z bundle-installed by runtime  bundleId=… family=…` */
export function auditTextLine(row: AuditRow): string {
  const payload = plain(decode(row.payload));
  const fields =
    typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? Object.entries(payload)
          .map(([k, v]) => `${k}=${renderValue(v)}`)
          .join(' ')
      : renderValue(payload);
  return `#${row.seq} ${new Date(row.at_ms).toISOString()} ${row.kind} by ${row.actor}${fields ? `  ${fields}` : ''}`;
}

/** Re-verifies a JSONL export: the chain over the exported payload bytes, then the checkpoints. */
export function verifyAuditJsonl(text: string, checkpoints: readonly Checkpoint[] = []): AuditVerdict {
  const rows: AuditRow[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { kind: 'broken', at: { kind: 'hash', seq: i + 1 }, checkedRecords: rows.length };
    }
    const r = parsed as Partial<AuditJsonLine>;
    if (
      typeof r.seq !== 'number' ||
      typeof r.atMs !== 'number' ||
      typeof r.kind !== 'string' ||
      typeof r.actor !== 'string' ||
      typeof r.payloadCbor !== 'string' ||
      typeof r.prevHash !== 'string' ||
      typeof r.hash !== 'string'
    ) {
      return {
        kind: 'broken',
        at: { kind: 'hash', seq: typeof r.seq === 'number' ? r.seq : i + 1 },
        checkedRecords: rows.length,
      };
    }
    rows.push({
      seq: r.seq,
      at_ms: r.atMs,
      kind: r.kind,
      actor: r.actor,
      payload: new Uint8Array(Buffer.from(r.payloadCbor, 'hex')),
      prev_hash: r.prevHash,
      hash: r.hash,
    });
  }
  return verifyChain(rows, checkpoints);
}

/** One sentence for a verdict (CLI output). */
export function describeVerdict(verdict: AuditVerdict): string {
  switch (verdict.kind) {
    case 'intact':
      return `intact: ${verdict.count} records, head ${verdict.headHash}`;
    case 'broken': {
      const at = verdict.at;
      const where = ((): string => {
        switch (at.kind) {
          case 'gap':
            return `record ${at.expectedSeq} is missing or out of place (found ${at.foundSeq} instead): deletion, insertion or reordering`;
          case 'prev-hash':
            return `record ${at.seq} does not link to the record before it: a record before it was changed, removed or inserted`;
          case 'hash':
            return `record ${at.seq} was modified (its hash does not match its content)`;
          case 'checkpoint':
            return `checkpoint at record ${at.count}: ${at.detail} (truncated or rewritten)`;
        }
      })();
      return `BROKEN after ${verdict.checkedRecords} good records: ${where}`;
    }
  }
}
