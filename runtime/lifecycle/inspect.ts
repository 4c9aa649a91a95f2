// Read-only views of a device's state for field engineers and investigators (`vigil status`,
// `vigil audit verify|export`): no writer lock, no audit records, nothing changed. Checkpoints are
// verified with the device's own public key; checkpoints held elsewhere (the collector's) can be added.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { decodeManifest, keyFilePaths, readPublicKeyFile } from '../../models/format/index.ts';
import {
  AuditLog,
  DeviceState,
  STATE_DB_FILE,
  STATE_MIGRATIONS,
  StateError,
  deviceKid,
  openStateDb,
  verifyCheckpoint,
  type AuditRow,
  type AuditVerdict,
  type Checkpoint,
} from '../state/index.ts';
import { TrustStore } from '../trust/index.ts';
import { DEFAULT_LIFECYCLE_POLICY } from './options.ts';
import { describeState } from './status.ts';
import type { DeviceIdentity, LifecycleStatus } from './types.ts';

export interface Inspection {
  readonly dataDir: string;
  readonly device: DeviceIdentity;
  readonly audit: AuditLog;
  readonly deviceKey: { readonly kid: string; readonly publicKey: Uint8Array } | null;
  status(): LifecycleStatus;
  rows(fromSeq?: number): Generator<AuditRow>;
  close(): void;
}

function storedDevice(state: DeviceState, runtimeVersion: string): DeviceIdentity {
  const stored = state.meta('device') as
    | {
        deviceId: string;
        fleet: string;
        cohort: string | null;
        deviceClass: { vendorId: string; classId: string };
      }
    | undefined;
  if (stored === undefined) throw new StateError('DB_CORRUPT', 'the device state names no device');
  return { ...stored, runtimeVersion };
}

/** The device a data directory belongs to (null when it holds no state yet). */
export function readDeviceIdentity(dataDir: string, runtimeVersion: string): DeviceIdentity | null {
  if (!fs.existsSync(path.join(dataDir, STATE_DB_FILE))) return null;
  const inspection = inspectDevice(dataDir, runtimeVersion);
  try {
    return inspection.device;
  } finally {
    inspection.close();
  }
}

/** Opens a device's state read-only. Throws StateError (DB_OPEN_FAILED, SCHEMA_OUTDATED…). */
export function inspectDevice(dataDir: string, runtimeVersion: string): Inspection {
  const db: Database.Database = openStateDb(path.join(dataDir, STATE_DB_FILE), STATE_MIGRATIONS, {
    readonly: true,
  });
  try {
    const state = new DeviceState(db);
    const audit = new AuditLog(db, () => Date.now());
    const device = storedDevice(state, runtimeVersion);
    const trustRecord = state.currentTrust();
    const trust = trustRecord ? TrustStore.loadAnchor(trustRecord.bytes) : null;
    const kid = deviceKid(device.deviceId);
    const pub = keyFilePaths(path.join(dataDir, 'keys'), kid).public;
    let deviceKey: Inspection['deviceKey'] = null;
    if (fs.existsSync(pub)) {
      const text = JSON.parse(fs.readFileSync(pub, 'utf8')) as { kid?: unknown; publicKey?: unknown };
      if (text.kid === kid && typeof text.publicKey === 'string') {
        deviceKey = { kid, publicKey: Uint8Array.from(Buffer.from(text.publicKey, 'hex')) };
      }
    }
    return {
      dataDir,
      device,
      audit,
      deviceKey,
      status: () =>
        describeState({
          state,
          audit,
          device,
          trust: trust ? { version: trust.version, sha256: trust.sha256 } : { version: 0, sha256: '' },
          deviceKey: { kid, publicKey: deviceKey ? Buffer.from(deviceKey.publicKey).toString('hex') : '' },
          manifestOf: (sha) => {
            const b = state.bundle(sha);
            if (!b) throw new StateError('DB_CORRUPT', `no installed bundle ${sha}`);
            return decodeManifest(b.manifestBytes);
          },
          probationMinRateWindows: DEFAULT_LIFECYCLE_POLICY.probationMinRateWindows,
        }),
      rows: (fromSeq = 1) => audit.rows(fromSeq),
      close: () => db.close(),
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

export interface AuditReport {
  readonly verdict: AuditVerdict;
  /** Checkpoints the device stored, and those given from elsewhere, that verified and were used. */
  readonly checkpointsUsed: number;
  /** Checkpoints that failed signature or payload checks (a tampered checkpoint table is itself news). */
  readonly invalidCheckpoints: readonly string[];
}

/**
 * Verifies the audit chain and that it still holds every checkpoint: the device's stored ones and any
 * `external` signed checkpoints (e.g. held by the collector), each verified with the device key.
 */
export async function verifyDeviceAudit(
  inspection: Inspection,
  external: readonly Uint8Array[] = [],
  publicKeyFile?: string,
): Promise<AuditReport> {
  const key = publicKeyFile ? await readPublicKeyFile(publicKeyFile) : inspection.deviceKey;
  const invalid: string[] = [];
  const used: Checkpoint[] = [];
  const signed = [...inspection.audit.checkpoints().map((c) => c.signed), ...external];
  for (const [i, bytes] of signed.entries()) {
    const where =
      i < signed.length - external.length
        ? `stored checkpoint ${i + 1}`
        : `checkpoint file ${i + 1 - (signed.length - external.length)}`;
    if (!key) {
      invalid.push(`${where}: the device public key is not available`);
      continue;
    }
    try {
      const c = verifyCheckpoint(
        new Uint8Array(bytes),
        (kid) => (kid === key.kid ? { publicKey: key.publicKey } : undefined),
        {
          deviceId: inspection.device.deviceId,
        },
      );
      used.push(c);
    } catch (error) {
      invalid.push(`${where}: ${(error as Error).message}`);
    }
  }
  return {
    verdict: inspection.audit.verify(used),
    checkpointsUsed: used.length,
    invalidCheckpoints: invalid,
  };
}
