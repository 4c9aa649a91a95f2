// Signed audit checkpoints: (device, record count, head hash, time) as deterministic CBOR in a
// COSE_Sign1 made with the device key (RFC 9052 §4.2). The collector keeps them, so a device whose
// log was truncated or rewritten no longer matches a checkpoint it signed earlier (docs/audit.md).
import {
  Fields,
  HEX_SHA256,
  bytesToHex,
  decodeCbor,
  encodeCbor,
  fromCbor,
  hexToBytes,
  readInteger,
  signSign1,
  toCbor,
  verifySign1,
  type FieldFailure,
  type KeyResolver,
  type Signer,
} from '../../models/format/index.ts';
import type { Checkpoint } from './audit.ts';
import { StateError } from './db.ts';

export const CHECKPOINT_CONTENT_TYPE = 'application/vnd.vigil.audit-checkpoint+cbor';
export const CHECKPOINT_MAX_BYTES = 4096;

export interface DeviceCheckpoint extends Checkpoint {
  readonly deviceId: string;
  /**
   * The telemetry sequence number the checkpoint is published under (outbox), when it is signed for
   * publication: the collector then counts checkpoints in its gap accounting.
   */
  readonly seq?: number;
}

export interface VerifiedCheckpoint extends DeviceCheckpoint {
  /** The device key that signed it. */
  readonly kid: string;
}

/** The checkpoint payload: `{v: 1, device, count, head: bstr .size 32, at, ? seq}` (deterministic CBOR). */
export function encodeCheckpoint(checkpoint: DeviceCheckpoint): Uint8Array {
  return encodeCbor(
    toCbor({
      v: 1,
      device: checkpoint.deviceId,
      count: checkpoint.count,
      head: hexToBytes(checkpoint.headHash),
      at: checkpoint.atMs,
      ...(checkpoint.seq === undefined ? {} : { seq: checkpoint.seq }),
    }),
  );
}

export function signCheckpoint(checkpoint: DeviceCheckpoint, signer: Signer): Uint8Array {
  return signSign1({ payload: encodeCheckpoint(checkpoint), contentType: CHECKPOINT_CONTENT_TYPE, signer });
}

const fail: FieldFailure = (path, message) => {
  throw new StateError('BAD_CHECKPOINT', `checkpoint ${path} ${message}`);
};

export function parseCheckpointPayload(payload: Uint8Array): DeviceCheckpoint {
  let value: unknown;
  try {
    value = fromCbor(decodeCbor(payload, { maxBytes: CHECKPOINT_MAX_BYTES, maxDepth: 4 }));
  } catch (cause) {
    throw new StateError('BAD_CHECKPOINT', 'the checkpoint payload is not deterministic CBOR', { cause });
  }
  const f = Fields.of(value, 'checkpoint', fail);
  f.literal('v', [1]);
  const deviceId = f.string('device', { max: 128 });
  const count = f.integer('count');
  const head = f.required('head');
  if (!(head instanceof Uint8Array) || head.length !== 32) fail('head', 'must be 32 bytes');
  const atMs = f.integer('at');
  const seq = f.optional('seq', (v, p) => readInteger(v, p, fail));
  f.done();
  const headHash = bytesToHex(head);
  if (!HEX_SHA256.test(headHash)) fail('head', 'must be a SHA-256');
  return { deviceId, count, headHash, atMs, ...(seq === undefined ? {} : { seq }) };
}

/**
 * Verifies a signed checkpoint with the device keys `resolveKey` trusts (e.g. a DeviceKeyRing on the
 * collector, or the device's own public key). Throws StateError('BAD_CHECKPOINT').
 */
export function verifyCheckpoint(
  bytes: Uint8Array,
  resolveKey: KeyResolver,
  expect: { readonly deviceId?: string } = {},
): VerifiedCheckpoint {
  let verified: ReturnType<typeof verifySign1>;
  try {
    verified = verifySign1(bytes, {
      resolveKey,
      contentType: CHECKPOINT_CONTENT_TYPE,
      maxBytes: CHECKPOINT_MAX_BYTES,
    });
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new StateError(
      'BAD_CHECKPOINT',
      `the checkpoint signature does not verify (${typeof code === 'string' ? code : 'invalid'})`,
      { cause },
    );
  }
  const checkpoint = parseCheckpointPayload(verified.payload);
  if (expect.deviceId !== undefined && checkpoint.deviceId !== expect.deviceId) {
    throw new StateError(
      'BAD_CHECKPOINT',
      `the checkpoint is for device ${checkpoint.deviceId}, not ${expect.deviceId}`,
    );
  }
  return { ...checkpoint, kid: verified.kid };
}
