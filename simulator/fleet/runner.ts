// Plays a fleet scenario: starts every device through the host, puts a simulated wearer (firmware on
// the real bridge client) on each, then runs the timeline in real time — wearer changes (gain,
// population, falls, AF) are planned into the wearers' signals, everything that happens to devices,
// links and updates is asked of the host. The host (scripts/demo/fleet-host.ts) owns the runtime, the
// broker links, the bundles and the collector; this module owns the wearers and the clock, so the
// simulator never imports the runtime (DESIGN.md layout).
import { SimulatedFirmware, type FirmwareCounters, type WearerSegment } from './firmware.ts';
import { assignCohorts, checkReferences, deviceIds, type Scenario, type Step } from './scenario.ts';
import { DAY_SCHEDULES, type WearerEvent } from './wearer.ts';

export interface FleetDevice {
  readonly index: number;
  readonly id: string;
  readonly cohort: string;
  readonly population: string;
  readonly firmware: string;
  /** Runs in a process of its own (it will lose power: a real SIGKILL). */
  readonly outOfProcess: boolean;
}

export interface FleetPlan {
  readonly scenario: Scenario;
  readonly devices: readonly FleetDevice[];
  readonly durationS: number;
}

/** What the runner asks of the world around the wearers. */
export interface FleetHost {
  /** Before any device starts: bundles, device keys, enrolment, the collector's registrations. */
  prepare(plan: FleetPlan): Promise<void>;
  /** Starts (or restarts after a power loss) a device; resolves with its bridge socket once it serves. */
  startDevice(device: FleetDevice): Promise<string>;
  /** The scenario clock started (wall ms of scenario time 0). */
  started(t0Ms: number): void;
  setFirmware(device: FleetDevice, version: string): void;
  /** Starts a signed update transfer to these devices (runs in the background). */
  push(bundle: string, devices: readonly FleetDevice[]): void;
  /** Starts a transfer of a damaged copy of a bundle to one device (background). */
  pushCorrupted(bundle: string, device: FleetDevice): void;
  promote(bundle: string, cohort: string | null): Promise<void>;
  /** Resolves true once the device is part-way through the latest transfer to it (false: timeout, abort). */
  transferStarted(device: FleetDevice, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Power cut: the device's process is killed, no cleanup. */
  powerLoss(device: FleetDevice): Promise<void>;
  /** The device's broker link (null: every device's, i.e. the broker is unreachable). */
  link(device: FleetDevice | null, up: boolean): void;
  acknowledge(cohort: string | null, by: string, comment: string): Promise<void>;
  /** Graceful stop of every device (its outbox drained when the link allows). */
  stopDevices(): Promise<void>;
}

export interface Narrator {
  say(line: string): void;
  progress?(scenarioS: number, durationS: number): void;
}

export interface RunOptions {
  /** Fleet size (default: the scenario's). */
  readonly devices?: number;
  /** Run time (default: the scenario's durationS); steps after it are skipped. */
  readonly durationS?: number;
  /** Ctrl-C: stop the timeline, then stop everything cleanly. */
  readonly signal?: AbortSignal;
  readonly chunkS?: number;
  /** Devices started at once. */
  readonly startConcurrency?: number;
  readonly firmwareVersion?: string;
  /** Share of results the wearers' firmware labels with ground truth later (default 0.2). */
  readonly labelShare?: number;
  readonly now?: () => number;
}

export interface RunResult {
  readonly plan: FleetPlan;
  /** Wall ms of scenario time 0. */
  readonly t0Ms: number;
  readonly endedMs: number;
  readonly aborted: boolean;
  readonly firmware: ReadonlyMap<string, FirmwareCounters>;
  /** Steps run, with the scenario time they ran at. */
  readonly steps: readonly { readonly step: Step; readonly atS: number }[];
}

export const DEFAULT_FIRMWARE = 'wearable-fw-3.2.0';

/** Devices, cohorts and out-of-process devices of a run. */
export function planFleet(scenario: Scenario, options: RunOptions = {}): FleetPlan {
  const count = options.devices ?? scenario.devices;
  checkReferences(scenario, count);
  const ids = deviceIds(count);
  const cohorts = assignCohorts(scenario.cohorts, count);
  const killed = new Set(scenario.steps.flatMap((s) => (s.do === 'power-loss' ? [s.device] : [])));
  const populationOf = (cohort: string) =>
    scenario.cohorts.find((c) => c.id === cohort)?.population ?? scenario.population;
  const devices = ids.map((id, index): FleetDevice => {
    const cohort = cohorts[index] ?? scenario.cohorts[0]?.id ?? 'default';
    return {
      index,
      id,
      cohort,
      population: populationOf(cohort),
      firmware: options.firmwareVersion ?? DEFAULT_FIRMWARE,
      outOfProcess: killed.has(index),
    };
  });
  return { scenario, devices, durationS: options.durationS ?? scenario.durationS };
}

/** The wearer events and wearer changes of one device, in scenario time. */
export function wearerPlan(
  plan: FleetPlan,
  device: FleetDevice,
): { events: WearerEvent[]; wearers: WearerSegment[] } {
  const events: WearerEvent[] = [];
  const wearers: WearerSegment[] = [{ fromS: 0, population: device.population }];
  for (const s of plan.scenario.steps) {
    if (s.atS >= plan.durationS) continue;
    switch (s.do) {
      case 'gain':
        if (s.cohort === device.cohort)
          events.push({ kind: 'gain', sensor: s.sensor, factor: s.factor, startS: s.atS });
        break;
      case 'population':
        if (s.cohort === device.cohort) {
          wearers.push({
            fromS: s.atS,
            population: s.population,
            shift: s.shift,
            schedule: DAY_SCHEDULES[s.day],
          });
        }
        break;
      case 'fall':
        if (s.device === device.index) events.push({ kind: 'fall', atS: s.atS });
        break;
      case 'af':
      case 'lead-off':
        if (s.device === device.index) events.push({ kind: s.do, startS: s.atS, endS: s.atS + s.durationS });
        break;
      case 'narrate':
      case 'push':
      case 'push-corrupted':
      case 'promote':
      case 'power-loss':
      case 'link-loss':
      case 'broker-outage':
      case 'acknowledge':
        break; // not about the wearer's signals
    }
  }
  return { events, wearers };
}

/** One line in words for a step (the narration's default). */
export function describeStep(step: Step, plan: FleetPlan): string {
  const dev = (i: number) => plan.devices[i]?.id ?? `device ${i}`;
  switch (step.do) {
    case 'narrate':
      return step.text;
    case 'gain':
      return (
        `cohort ${step.cohort}: ${step.firmware === null ? 'a sensor change' : `sensor firmware ${step.firmware}`} ` +
        `multiplies the ${step.sensor === 'accel' ? 'accelerometer' : 'ECG'} gain by ${step.factor}`
      );
    case 'population':
      return `cohort ${step.cohort}: new wearers (${step.population}, ${step.day} day) take the devices over`;
    case 'fall':
      return `${dev(step.device)}: the wearer falls`;
    case 'af':
      return `${dev(step.device)}: an AF episode of ${step.durationS} s begins`;
    case 'lead-off':
      return `${dev(step.device)}: the ECG leads come off for ${step.durationS} s`;
    case 'push':
      return `a field engineer pushes the signed candidate ${step.bundle} over MQTT`;
    case 'push-corrupted':
      return `${dev(step.device)} receives a damaged copy of ${step.bundle}`;
    case 'promote':
      return `the release manager signs a promote command for ${step.bundle}${step.cohort === null ? '' : ` (cohort ${step.cohort})`}`;
    case 'power-loss':
      return `${dev(step.device)} loses power${step.during === 'update' ? ' in the middle of its update' : ''}`;
    case 'link-loss':
      return `${dev(step.device)} loses its broker link for ${step.durationS} s`;
    case 'broker-outage':
      return `the broker is unreachable for ${step.durationS} s`;
    case 'acknowledge':
      return `${step.by} acknowledges the open drift alerts${step.cohort === null ? '' : ` of cohort ${step.cohort}`}`;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

export async function runScenario(
  scenario: Scenario,
  host: FleetHost,
  narrator: Narrator,
  options: RunOptions = {},
): Promise<RunResult> {
  const now = options.now ?? Date.now;
  const plan = planFleet(scenario, options);
  const signal = options.signal;
  await host.prepare(plan);
  const sockets = new Map<string, string>();
  await inBatches(plan.devices, options.startConcurrency ?? 4, async (d) => {
    if (signal?.aborted === true) return;
    sockets.set(d.id, await host.startDevice(d));
  });
  narrator.say(
    `${plan.devices.length} devices up; wearers start streaming (accelerometer 50 Hz, ECG 250 Hz)`,
  );
  const t0Ms = now();
  host.started(t0Ms);
  const scenarioNowS = () => (now() - t0Ms) / 1000;
  const firmware = new Map<string, SimulatedFirmware>();
  const counters = new Map<string, FirmwareCounters>();
  await Promise.all(
    plan.devices.map(async (d) => {
      const socket = sockets.get(d.id);
      if (socket === undefined || signal?.aborted === true) return;
      const { events, wearers } = wearerPlan(plan, d);
      firmware.set(
        d.id,
        await SimulatedFirmware.start({
          device: d.id,
          firmware: d.firmware,
          socketPath: socket,
          cohort: d.cohort,
          seed: scenario.seed,
          wearers,
          events,
          scenarioNowS,
          labelShare: options.labelShare ?? 0.2,
          ...(options.chunkS === undefined ? {} : { chunkS: options.chunkS }),
          now,
          onError: (error) => {
            narrator.say(
              `  ✗ ${d.id}: the simulated wearer stopped: ${error instanceof Error ? error.message : String(error)}`,
            );
          },
          onAlert: (alert) => {
            narrator.say(
              `  🔔 ${d.id}: ${alert.label.toUpperCase()} alert from ${alert.bundleId} (${alert.source}) reaches the firmware`,
            );
          },
        }),
      );
    }),
  );

  const background: Promise<void>[] = [];
  const ran: { step: Step; atS: number }[] = [];
  const progress = setInterval(() => {
    narrator.progress?.(Math.min(scenarioNowS(), plan.durationS), plan.durationS);
  }, 500);
  progress.unref();
  try {
    for (const step of scenario.steps) {
      if (step.atS >= plan.durationS) break;
      await sleep(t0Ms + step.atS * 1000 - now(), signal);
      if (signal?.aborted === true) break;
      ran.push({ step, atS: scenarioNowS() });
      if (step.do !== 'narrate') narrator.say(`▶ ${describeStep(step, plan)}`);
      else narrator.say(step.text);
      const task = runStep(step, plan, host, narrator, signal);
      if (task !== null) background.push(task);
    }
    await sleep(t0Ms + plan.durationS * 1000 - now(), signal);
    narrator.progress?.(Math.min(scenarioNowS(), plan.durationS), plan.durationS);
  } finally {
    clearInterval(progress);
    await Promise.allSettled(background);
    for (const [id, fw] of firmware) {
      await fw.stop();
      counters.set(id, fw.counters);
    }
  }
  return { plan, t0Ms, endedMs: now(), aborted: signal?.aborted === true, firmware: counters, steps: ran };
}

/** Runs one step; long ones (a power cut and its restart, a link outage) return their task. */
function runStep(
  step: Step,
  plan: FleetPlan,
  host: FleetHost,
  narrator: Narrator,
  signal: AbortSignal | undefined,
): Promise<void> | null {
  const device = (i: number) => {
    const d = plan.devices[i];
    if (d === undefined) throw new Error(`no device ${i}`);
    return d;
  };
  const fail = (error: unknown) => {
    narrator.say(
      `  ✗ ${describeStep(step, plan)}: ${error instanceof Error ? error.message : String(error)}`,
    );
  };
  switch (step.do) {
    case 'narrate':
    case 'fall':
    case 'af':
    case 'lead-off':
    case 'population':
      return null; // planned into the wearers' signals
    case 'gain':
      if (step.firmware !== null) {
        for (const d of plan.devices) if (d.cohort === step.cohort) host.setFirmware(d, step.firmware);
      }
      return null;
    case 'push': {
      const chosen = step.devices ?? plan.devices.map((d) => d.index);
      host.push(step.bundle, chosen.filter((i) => !step.except.includes(i)).map(device));
      return null;
    }
    case 'push-corrupted':
      host.pushCorrupted(step.bundle, device(step.device));
      return null;
    case 'promote':
      return host.promote(step.bundle, step.cohort).catch(fail);
    case 'acknowledge':
      return host.acknowledge(step.cohort, step.by, step.comment).catch(fail);
    case 'power-loss': {
      const d = device(step.device);
      return (async () => {
        if (step.during === 'update') {
          const midway = await host.transferStarted(d, 60_000, signal);
          if (signal?.aborted === true) return;
          if (!midway) narrator.say(`  (${d.id}: no transfer seen within 60 s; cutting the power anyway)`);
        }
        await host.powerLoss(d);
        narrator.say(`  ⚡ ${d.id} is off (killed, no cleanup); power returns in ${step.downS} s`);
        await sleep(step.downS * 1000, signal);
        if (signal?.aborted === true) return;
        await host.startDevice(d);
        narrator.say(`  ${d.id} is back: restarted from its state directory`);
      })().catch(fail);
    }
    case 'link-loss': {
      const d = device(step.device);
      host.link(d, false);
      return (async () => {
        await sleep(step.durationS * 1000, signal);
        host.link(d, true);
        narrator.say(`  ${d.id}: broker link restored; its outbox delivers what it buffered`);
      })().catch(fail);
    }
    case 'broker-outage':
      host.link(null, false);
      return (async () => {
        await sleep(step.durationS * 1000, signal);
        host.link(null, true);
        narrator.say('  the broker is reachable again; every device drains its outbox');
      })().catch(fail);
  }
}
