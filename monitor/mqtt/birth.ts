// Birth/death state payloads (Sparkplug B idea: a retained online message on connect, the Last
// Will as the retained offline message, both carrying the same bdSeq so a consumer can tell a
// stale death from the current session's). JSON, because it is small, advisory (online display
// only: nothing is decided from it) and read by humans with mosquitto_sub.

export const MAX_STATE_PAYLOAD_BYTES = 4096;

export interface StatePayload {
  readonly v: 1;
  readonly online: boolean;
  readonly fleet: string;
  readonly device: string;
  /** Birth/death sequence: the same number in a birth and the death that ends it. */
  readonly bdSeq: number;
  readonly cohort?: string;
  /** Connect (birth) or shutdown (graceful death) time, ms since the epoch; absent in the Will. */
  readonly at?: number;
  /** MQTT protocol level in use (4 = 3.1.1, 5 = MQTT 5). */
  readonly protocol?: 4 | 5;
  /** Why the device went offline: absent in the Will (the broker sends it), `shutdown` if graceful. */
  readonly reason?: 'shutdown';
  /** Free-form birth details from the runtime (model id/version, runtime and firmware versions). */
  readonly info?: Readonly<Record<string, string | number | boolean>>;
}

export function encodeState(state: StatePayload): Buffer {
  return Buffer.from(JSON.stringify(state), 'utf8');
}

/** Parses a state payload field by field; null when it is not one. */
export function parseState(bytes: Uint8Array): StatePayload | null {
  if (bytes.length === 0 || bytes.length > MAX_STATE_PAYLOAD_BYTES) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  if (r.v !== 1 || typeof r.online !== 'boolean') return null;
  if (typeof r.fleet !== 'string' || typeof r.device !== 'string') return null;
  if (typeof r.bdSeq !== 'number' || !Number.isSafeInteger(r.bdSeq) || r.bdSeq < 0) return null;
  const out: {
    -readonly [K in keyof StatePayload]: StatePayload[K];
  } = { v: 1, online: r.online, fleet: r.fleet, device: r.device, bdSeq: r.bdSeq };
  if (typeof r.cohort === 'string') out.cohort = r.cohort;
  if (typeof r.at === 'number' && Number.isFinite(r.at)) out.at = r.at;
  if (r.protocol === 4 || r.protocol === 5) out.protocol = r.protocol;
  if (r.reason === 'shutdown') out.reason = 'shutdown';
  if (typeof r.info === 'object' && r.info !== null && !Array.isArray(r.info)) {
    const info: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(r.info as Record<string, unknown>)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') info[k] = v;
    }
    out.info = info;
  }
  return out;
}
