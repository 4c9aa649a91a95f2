// Shared by the device-state commands (install, status, rollback, command apply, audit, replay): which
// data directory, which device identity, which trust document. Thin: the logic is runtime/lifecycle.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, parseConfigFile, type RuntimeConfig } from '../../runtime/config.ts';
import { Lifecycle, readDeviceIdentity, type DeviceIdentity } from '../../runtime/lifecycle/index.ts';
import { DEFAULT_TRUST_MAX_BYTES } from '../../runtime/trust/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';
import { readCapped } from './trust.ts';

export interface DeviceCliOptions {
  readonly dataDir?: string;
  readonly config?: string;
  readonly trust?: string;
  readonly cohort?: string;
}

export function deviceOptions(command: Command, options: { trust?: boolean } = {}): Command {
  command
    .option(
      '--data-dir <dir>',
      `device state directory (default: the config's, else ${DEFAULT_CONFIG.dataDir})`,
    )
    .option('--config <file>', 'runtime config JSON (device id, fleet, class, data directory)')
    .option('--cohort <cohort>', 'the device cohort (signed commands may target one)');
  if (options.trust !== false) {
    command.option('--trust <file>', 'signed trust document: the anchor on first use, or the next version');
  }
  return command;
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
