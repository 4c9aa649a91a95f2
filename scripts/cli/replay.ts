// `vigil replay EVENT_ID` / `vigil replay --list`: re-run the black-box windows pinned to an event with
// the bundles that produced them, and show whether every output is bit-identical (or why not). The
// replay is itself audited (it decrypts recorded patient data). Logic lives in runtime/lifecycle.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { withFileSource } from '../../models/format/index.ts';
import { selectBackend } from '../../runtime/inference/select.ts';
import { replayEvent, type BundleRef, type ReplayReport } from '../../runtime/lifecycle/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';
import { extractVerifiedBundle, verifyBundleFile } from '../../runtime/verify/index.ts';
import { CliError } from './cli-error.ts';
import {
  cliConfig,
  deviceOptions,
  iso,
  localActor,
  openDeviceLifecycle,
  type DeviceCliOptions,
} from './device-state.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function renderReplay(report: ReplayReport): string {
  const lines = [`Event ${report.eventId} (${report.eventKind}), pinned ${iso(report.pinnedAtMs)}`];
  for (const w of report.windows) {
    lines.push(`  ${w.streamId} window ${w.windowIndex}  ${iso(w.startMs)} → ${iso(w.endMs)}`);
    for (const r of w.results) {
      const show = (s: ReplayReport['windows'][number]['results'][number]['recorded'] | null) =>
        s === null
          ? '—'
          : s.kind === 'fallback'
            ? `fallback ${s.reason ?? ''}`
            : `${s.kind} score ${s.score} [${s.scoreBits ?? ''}]${s.label ? ` ${s.label}` : ''}${s.alert ? ' ALERT' : ''}`;
      lines.push(`    ${r.bundleId}${r.shadow ? ' (shadow)' : ''}`);
      lines.push(`      recorded  ${show(r.recorded)}`);
      lines.push(`      replayed  ${show(r.replayed)}`);
      lines.push(
        `      ${r.verdict.kind === 'identical' ? 'IDENTICAL' : r.verdict.kind === 'different' ? `DIFFERENT: ${r.verdict.explanation}` : `NOT REPLAYED: ${r.verdict.explanation}`}`,
      );
    }
  }
  lines.push(
    `${report.counts.identical} identical, ${report.counts.different} different, ${report.counts.notReplayed} not replayed` +
      (report.identical ? ' — every output reproduced bit for bit' : ''),
  );
  return lines.join('\n');
}

export function registerReplay(program: Command): void {
  deviceOptions(
    program
      .command('replay')
      .argument('[event]', 'a black-box event id (see --list)')
      .option('--list', 'list the pinned events')
      .option(
        '--bundle <file>',
        'a .vbundle from the release archive, for bundles no longer on the device (repeat)',
        collect,
      )
      .option('--json', 'machine-readable output')
      .description(
        're-run the windows pinned to an event with the recorded bundles; show bit-identical outputs',
      ),
    { trust: 'apply' },
  ).action(
    async (
      eventId: string | undefined,
      options: DeviceCliOptions & { list?: boolean; bundle?: string[]; json?: boolean },
    ) => {
      const config = await cliConfig(options);
      const lifecycle = await openDeviceLifecycle(options);
      const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'vigil-replay-'));
      try {
        if (options.list === true || eventId === undefined) {
          const events = lifecycle.blackBox.events();
          if (options.json === true) process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
          else {
            for (const e of events) {
              process.stdout.write(
                `${e.eventId}  ${e.eventKind}  ${e.windows} window(s)  pinned ${iso(e.pinnedAtMs)}\n`,
              );
            }
            if (events.length === 0) process.stdout.write('no pinned events\n');
          }
          return;
        }
        const extra = new Map<string, BundleRef>();
        // An archived bundle is judged as of the event it replays (its approvals may have expired
        // since, which says nothing about the results it produced then).
        const eventAtMs =
          lifecycle.blackBox.events().find((e) => e.eventId === eventId)?.pinnedAtMs ?? Date.now();
        for (const [i, file] of (options.bundle ?? []).entries()) {
          // Verified against the device's trust store (offline: anti-rollback does not apply to a replay).
          const verified = await verifyBundleFile(file, {
            trust: lifecycle.trust,
            target: { kind: 'offline', deviceClass: null, runtimeVersion: null },
            stage: 'shadow',
            now: () => eventAtMs,
          });
          const dir = path.join(scratch, String(i));
          await withFileSource(file, (source) => extractVerifiedBundle(source, verified, dir));
          const m = verified.manifest;
          extra.set(verified.manifestSha256, {
            manifestSha256: verified.manifestSha256,
            bundleId: m.bundleId,
            family: m.modelFamily,
            version: m.version,
            sequence: m.sequence,
            dir,
            manifest: m,
          });
        }
        const backend = await selectBackend(config.backend);
        const report = await replayEvent(eventId, {
          blackBox: lifecycle.blackBox,
          bundle: (sha) => lifecycle.bundleRef(sha) ?? extra.get(sha),
          backend: backend.backend,
          runtimeVersion: RUNTIME_VERSION,
        });
        lifecycle.recordAccess('replay', localActor(), {
          eventId,
          eventKind: report.eventKind,
          windows: report.windows.length,
          ...report.counts,
          identical: report.identical,
        });
        process.stdout.write(
          options.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${renderReplay(report)}\n`,
        );
        if (!report.identical)
          throw new CliError('REPLAY_DIFFERS', 'not every output was reproduced bit for bit', 1);
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
        await lifecycle.close();
      }
    },
  );
}
