// Device keys for telemetry without bloating every device's trust document.
//
// A fleet has many devices; listing every device key in the trust document would make each device
// carry (and every rotation re-sign) the whole fleet. Instead a device key is *enrolled*: a field
// engineer commissioning the device signs an enrolment record (COSE_Sign1, `field` role key) binding
// the device id, its key and its class. The device keeps its own record; the fleet collector keeps
// the records of the devices it accepts (its enrolment list). The trust document's `device` role may
// still list keys directly (a device's own trust document lists just its own key).
import {
  Fields,
  KID_PATTERN,
  bytesToHex,
  decodeCbor,
  encodeCbor,
  fromCbor,
  signSign1,
  toCbor,
  type DeviceClass,
  type FieldFailure,
  type ResolvedKey,
  type Signer,
} from '../../models/format/index.ts';
import { TrustError } from './errors.ts';
import type { TrustStore } from './store.ts';

export const ENROLMENT_CONTENT_TYPE = 'application/vnd.vigil.device-enrolment+cbor';

export interface DeviceEnrolment {
  readonly formatVersion: 1;
  readonly deviceId: string;
  /** The device key's id, as it appears in the kid of the device's COSE_Sign1 reports. */
  readonly kid: string;
  readonly publicKey: Uint8Array;
  readonly deviceClass: DeviceClass;
  readonly enrolledAtMs: number;
}

const fail: FieldFailure = (path, message) => {
  throw new TrustError('UNKNOWN_DEVICE', `enrolment ${path} ${message}`);
};

export function parseDeviceEnrolment(value: unknown): DeviceEnrolment {
  const f = Fields.of(value, 'enrolment', fail);
  const out: DeviceEnrolment = {
    formatVersion: f.literal('formatVersion', [1] as const),
    deviceId: f.string('deviceId', {
      max: 128,
      pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
      what: 'a device id',
    }),
    kid: f.string('kid', { max: 64, pattern: KID_PATTERN, what: 'a key id' }),
    publicKey: ((): Uint8Array => {
      const v = f.required('publicKey');
      if (!(v instanceof Uint8Array) || v.length !== 32) return fail(f.at('publicKey'), 'must be 32 bytes');
      return v;
    })(),
    deviceClass: f.object('deviceClass', (c) => ({
      vendorId: c.string('vendorId', { max: 128 }),
      classId: c.string('classId', { max: 128 }),
    })),
    enrolledAtMs: f.integer('enrolledAtMs', { max: 10_000_000_000_000 }),
  };
  f.done();
  return out;
}

/** Signs an enrolment record with a `field` role key. */
export function signDeviceEnrolment(enrolment: DeviceEnrolment, signer: Signer): Uint8Array {
  return signSign1({
    payload: encodeCbor(toCbor(enrolment)),
    contentType: ENROLMENT_CONTENT_TYPE,
    signer,
  });
}

/** Verifies an enrolment record against the trust store (signed by an unrevoked `field` key). */
export function verifyDeviceEnrolment(store: TrustStore, bytes: Uint8Array): DeviceEnrolment {
  const { payload } = store.verifyRoleSign1(bytes, {
    role: 'field',
    contentType: ENROLMENT_CONTENT_TYPE,
    maxBytes: 4096,
  });
  let value: unknown;
  try {
    value = fromCbor(decodeCbor(payload, { maxBytes: 4096, maxDepth: 4 }));
  } catch (err) {
    throw new TrustError('UNKNOWN_DEVICE', 'the enrolment payload is not valid CBOR', { cause: err });
  }
  const enrolment = parseDeviceEnrolment(value);
  if (store.document.keys.some((k) => k.kid === enrolment.kid && k.role !== 'device')) {
    throw new TrustError('UNKNOWN_DEVICE', `enrolment reuses the kid ${enrolment.kid} of a non-device key`);
  }
  const material = bytesToHex(enrolment.publicKey);
  if (
    store.document.revocations.keys.some(
      (r) => r.kid === enrolment.kid || bytesToHex(r.publicKey) === material,
    )
  ) {
    throw new TrustError('REVOKED_KEY', `the device key ${enrolment.kid} has been revoked`);
  }
  return enrolment;
}

/**
 * Resolves device keys for verifying telemetry: keys the trust document lists under `device`, then
 * enrolled keys. Revocations in the trust document always win.
 */
export class DeviceKeyRing {
  private readonly enrolled = new Map<string, DeviceEnrolment>();

  constructor(private readonly store: TrustStore) {}

  /** Verifies and adds an enrolment record; returns it. */
  enrol(bytes: Uint8Array): DeviceEnrolment {
    const enrolment = verifyDeviceEnrolment(this.store, bytes);
    const existing = this.enrolled.get(enrolment.kid);
    if (existing !== undefined && bytesToHex(existing.publicKey) !== bytesToHex(enrolment.publicKey)) {
      throw new TrustError('UNKNOWN_DEVICE', `kid ${enrolment.kid} is already enrolled with another key`);
    }
    this.enrolled.set(enrolment.kid, enrolment);
    return enrolment;
  }

  enrolment(kid: string): DeviceEnrolment | undefined {
    return this.enrolled.get(kid);
  }

  /** A KeyResolver for verifySign1: trusted, unrevoked device keys only. */
  resolve = (kid: string): ResolvedKey | undefined => {
    if (this.store.keyRevocation(kid) !== undefined) return undefined;
    const listed = this.store.key(kid);
    if (listed !== undefined) return listed.role === 'device' ? listed : undefined;
    const enrolled = this.enrolled.get(kid);
    if (enrolled === undefined) return undefined;
    const material = bytesToHex(enrolled.publicKey);
    if (this.store.document.revocations.keys.some((r) => bytesToHex(r.publicKey) === material))
      return undefined;
    return enrolled;
  };
}
