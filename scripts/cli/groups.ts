import type { Command } from 'commander';
import { registerAudit } from './audit.ts';
import { registerBench } from './bench.ts';
import { registerBridge } from './bridge.ts';
import { registerBundle } from './bundle.ts';
import { registerCollector } from './collector.ts';
import { registerDemo } from './demo.ts';
import { registerKeygen } from './keygen.ts';
import { registerLifecycle } from './lifecycle.ts';
import { registerModels } from './models.ts';
import { registerPush } from './push.ts';
import { registerReplay } from './replay.ts';
import { registerRun } from './run.ts';
import { registerSimulate } from './simulate.ts';
import { registerTrust } from './trust.ts';

/** Every command group of the `vigil` CLI; each lives in its own file under scripts/cli/. */
export const COMMAND_GROUPS: readonly ((program: Command) => void)[] = [
  registerSimulate,
  registerModels,
  registerKeygen,
  registerTrust,
  registerBundle,
  registerPush,
  registerCollector,
  registerLifecycle,
  registerAudit,
  registerReplay,
  registerBridge,
  registerRun,
  registerDemo,
  registerBench,
];
