// Public API of fleet scenarios (issue 9; docs/scenarios.md): the scenario format and its parser,
// simulated wearers (background day of activities plus scenario events), their firmware on the real
// bridge client, and the scenario runner (the host that owns devices, links and updates is injected:
// scripts/demo/fleet-host.ts).
export {
  APPROVAL_ROLES,
  FAMILIES,
  SCENARIO_FORMAT,
  SCENARIO_LIMITS,
  SHIFT_FIELDS,
  ScenarioError,
  assignCohorts,
  checkReferences,
  deviceIds,
  minimumDevices,
  parseScenario,
  readScenario,
} from './scenario.ts';
export type {
  ApprovalRole,
  CandidateSpec,
  CohortSpec,
  CollectorRule,
  Expectation,
  Family,
  Scenario,
  ScenarioErrorCode,
  Shift,
  Step,
  StepAction,
  StepKind,
} from './scenario.ts';
export { parseStrictJson } from './json.ts';
export type { StrictJsonProblem, StrictJsonResult } from './json.ts';
export { ACTIVE_DAY, DAY_SCHEDULES, HOME_DAY, chunkEvents, dailyActivities, wearerChunk } from './wearer.ts';
export type { DayName, DaySchedule, Reserved, WearerEvent, WearerProfile } from './wearer.ts';
export { SimulatedFirmware } from './firmware.ts';
export type { FirmwareCounters, FirmwareOptions, WearerSegment } from './firmware.ts';
export { DEFAULT_FIRMWARE, describeStep, planFleet, runScenario, wearerPlan } from './runner.ts';
export type { FleetDevice, FleetHost, FleetPlan, Narrator, RunOptions, RunResult } from './runner.ts';
