// Shared by the device-state commands (install, status, rollback, command apply, audit, replay): which
// data directory, which device identity, which trust document. Thin: the logic is runtime/lifecycle.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, parseConfigFile, type RuntimeConfig } from '../../runtime/config.ts';
import { Lifecycle, readDeviceIdentity, type DeviceIdentity } from '../../runtime/lifecycle/index.ts';
import { DEFAULT_TRUST_MAX_BYTES, peekTrustDocument } from '../../runtime/trust/index.ts';
import { bytesToHex, sha256 as sha256Of } from '../../models/format/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';
import { readCapped } from './trust.ts';

export interface DeviceCliOptions {
  readonly dataDir?: string;
  readonly config?: string;
  readonly trust?: string;
  readonly cohort?: string;
}

/**
 * Options every device command takes. `--trust` is applied by commands that open the state for
 * writing (the anchor on first use, or the next version) and compared by read-only ones.
 */
export function deviceOptions(
  command: Command,
  options: { trust: 'apply' | 'compare' } = { trust: 'apply' },
): Command {
  return command
    .option(
      '--data-dir <dir>',
      `device state directory (default: the config's, else ${DEFAULT_CONFIG.dataDir})`,
    )
    .option('--config <file>', 'runtime config JSON (device id, fleet, class, data directory)')
    .option('--cohort <cohort>', 'the device cohort (signed commands may target one)')
    .option(
      '--trust <file>',
      options.trust === 'apply'
        ? 'signed trust document: the anchor on first use, or the next version'
        : "signed trust document to compare with the device's",
    );
}

/** How a trust document file compares with the device's (read-only commands). */
export async function trustComparison(
  file: string | undefined,
  device: { readonly version: number; readonly sha256: string },
): Promise<{ file: string; version: number; sha256: string; matches: boolean } | null> {
  if (file === undefined) return null;
  const bytes = await readCapped(file, DEFAULT_TRUST_MAX_BYTES);
  const { document } = peekTrustDocument(bytes);
  const sha256 = bytesToHex(sha256Of(bytes));
  return { file, version: document.version, sha256, matches: sha256 === device.sha256 };
}

export async function cliConfig(options: DeviceCliOptions): Promise<RuntimeConfig> {
  const config = options.config
    ? parseConfigFile(await readCapped(options.config, 64 * 1024))
    : DEFAULT_CONFIG;
  return options.dataDir ? { ...config, dataDir: options.dataDir } : config;
}

/** The device a command acts for: the config's when given, else the one the state belongs to. */
export async function cliDevice(
  options: DeviceCliOptions,
): Promise<{ config: RuntimeConfig; device: DeviceIdentity }> {
  const config = await cliConfig(options);
  const stored = options.config ? null : readDeviceIdentity(config.dataDir, RUNTIME_VERSION);
  const device: DeviceIdentity = stored
    ? { ...stored, ...(options.cohort !== undefined ? { cohort: options.cohort } : {}) }
    : {
        deviceId: config.deviceId,
        fleet: config.fleet,
        cohort: options.cohort ?? null,
        deviceClass: { vendorId: config.vendorId, classId: config.classId },
        runtimeVersion: RUNTIME_VERSION,
      };
  return { config, device };
}

export function localActor(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return `local:${user}`;
}

/** Opens the lifecycle for a local operation (takes the writer lock: the daemon must be stopped). */
export async function openDeviceLifecycle(options: DeviceCliOptions): Promise<Lifecycle> {
  const { config, device } = await cliDevice(options);
  const trust = options.trust ? await readCapped(options.trust, DEFAULT_TRUST_MAX_BYTES) : undefined;
  return Lifecycle.open({
    dataDir: config.dataDir,
    device,
    ...(trust ? { trust, trustSource: path.basename(options.trust ?? '') } : {}),
    localActor: localActor(),
  });
}

export async function writeFileAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, bytes);
  await fs.rename(tmp, file);
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function trustLine(
  compared: { readonly file: string; readonly version: number; readonly matches: boolean },
  deviceVersion: number,
): string {
  return compared.matches
    ? `trust file ${compared.file}: version ${compared.version}, the one the device holds`
    : `trust file ${compared.file}: version ${compared.version} — the device holds version ${deviceVersion} (a different document)`;
}
