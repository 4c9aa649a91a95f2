// The enrolment table in memory: key id → enrolled device key, for the verifiers (classify.ts).
// Enrolment records are verified before they get here (the CLI verifies them against the trust
// document with runtime/trust and passes the result in: docs/collector.md "Device enrolment").
import { REPORT_ID_PATTERN } from '../report/index.ts';
import type { KeyLookup } from './classify.ts';
import { CollectorError } from './errors.ts';
import type { CollectorStore } from './store.ts';
import type { Enrolment } from './types.ts';

export class EnrolmentTable {
  private byKid = new Map<string, Enrolment>();
  private siteByDevice = new Map<string, string>();

  constructor(private readonly store: CollectorStore) {
    this.reload();
  }

  reload(): void {
    const byKid = new Map<string, Enrolment>();
    const sites = new Map<string, string>();
    for (const e of this.store.enrolments()) {
      byKid.set(e.kid, e);
      if (e.retiredAtMs === null) sites.set(`${e.fleet}/${e.device}`, e.site);
    }
    this.byKid = byKid;
    this.siteByDevice = sites;
  }

  /** Adds one stored enrolment without re-reading the table. */
  add(e: Enrolment): void {
    this.byKid.set(e.kid, e);
    if (e.retiredAtMs === null) this.siteByDevice.set(`${e.fleet}/${e.device}`, e.site);
  }

  lookup = (kid: string): KeyLookup => {
    const e = this.byKid.get(kid);
    if (e === undefined) return { kind: 'unknown' };
    if (e.retiredAtMs !== null) return { kind: 'retired' };
    return { kind: 'active', key: { publicKey: e.publicKey, fleet: e.fleet, device: e.device } };
  };

  /** Whether some active key is enrolled for this device (unsigned state messages need one). */
  isActive(fleet: string, device: string): boolean {
    return this.siteByDevice.has(`${fleet}/${device}`);
  }

  isRetired(fleet: string, device: string): boolean {
    if (this.isActive(fleet, device)) return false;
    for (const e of this.byKid.values()) if (e.fleet === fleet && e.device === device) return true;
    return false;
  }

  site(fleet: string, device: string): string {
    return this.siteByDevice.get(`${fleet}/${device}`) ?? '';
  }

  list(): Enrolment[] {
    return [...this.byKid.values()];
  }
}

const SITE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,63}$/;

/**
 * Adds a verified enrolment. A kid already enrolled with other key material is refused, as is a
 * second active key for a device that already has one (retire the old one first).
 */
export function addEnrolment(store: CollectorStore, e: Enrolment): void {
  if (!REPORT_ID_PATTERN.test(e.fleet) || !REPORT_ID_PATTERN.test(e.device)) {
    throw new CollectorError('BAD_ENROLMENT', `fleet and device ids must match ${REPORT_ID_PATTERN.source}`);
  }
  if (e.site !== '' && !SITE_PATTERN.test(e.site)) {
    throw new CollectorError('BAD_ENROLMENT', 'site must be 1–64 printable characters');
  }
  if (e.publicKey.length !== 32) throw new CollectorError('BAD_ENROLMENT', 'the device key must be 32 bytes');
  const existing = store.enrolmentsFor(e.kid, e.fleet, e.device);
  const sameKid = existing.find((x) => x.kid === e.kid);
  if (sameKid !== undefined) {
    if (Buffer.compare(Buffer.from(sameKid.publicKey), Buffer.from(e.publicKey)) !== 0) {
      throw new CollectorError('BAD_ENROLMENT', `kid ${e.kid} is already enrolled with another key`);
    }
    if (sameKid.fleet !== e.fleet || sameKid.device !== e.device) {
      throw new CollectorError(
        'BAD_ENROLMENT',
        `kid ${e.kid} is enrolled for ${sameKid.fleet}/${sameKid.device}`,
      );
    }
    if (sameKid.retiredAtMs !== null) {
      throw new CollectorError('BAD_ENROLMENT', `kid ${e.kid} was retired; enrol a new key`);
    }
  }
  const activeOther = existing.find(
    (x) => x.fleet === e.fleet && x.device === e.device && x.retiredAtMs === null && x.kid !== e.kid,
  );
  if (activeOther !== undefined) {
    throw new CollectorError(
      'BAD_ENROLMENT',
      `${e.fleet}/${e.device} already has the active key ${activeOther.kid}; retire it first`,
    );
  }
  store.putEnrolment(e);
}
