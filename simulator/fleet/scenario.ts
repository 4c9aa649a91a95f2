// The fleet scenario format (docs/scenarios.md): a JSON file naming the fleet (devices, cohorts,
// population), the demo bundles (report interval, candidates), the collector's alert rule for the
// run, a timeline of steps (drift, updates, faults) and the expectations checked at the end.
// A scenario file is untrusted input: size-capped, strict JSON (no duplicate keys, bounded depth),
// read field by field into tagged unions; every refusal is a ScenarioError with a code and the path.
import { parseStrictJson } from './json.ts';

export const SCENARIO_FORMAT = 'vigil-scenario/1';

export const SCENARIO_LIMITS = Object.freeze({
  maxBytes: 256 * 1024,
  maxDepth: 8,
  maxSteps: 400,
  maxExpectations: 64,
  maxCohorts: 16,
  maxCandidates: 8,
  maxDevices: 200,
  maxDurationS: 24 * 3600,
  maxText: 2000,
});

export type ScenarioErrorCode =
  | 'TOO_LARGE'
  | 'NOT_JSON'
  | 'DUPLICATE_KEY'
  | 'TOO_DEEP'
  | 'BAD_FORMAT'
  | 'UNKNOWN_FIELD'
  | 'BAD_FIELD'
  | 'BAD_REFERENCE';

export class ScenarioError extends Error {
  constructor(
    readonly code: ScenarioErrorCode,
    message: string,
    /** Where in the file, e.g. `steps[3].device`. */
    readonly path: string = '',
    options?: { cause?: unknown },
  ) {
    super(path === '' ? message : `${path}: ${message}`, options);
    this.name = 'ScenarioError';
  }
}

export const FAMILIES = ['fall-detector', 'af-screener'] as const;
export type Family = (typeof FAMILIES)[number];
export const APPROVAL_ROLES = ['qa', 'clinical', 'regulatory'] as const;
export type ApprovalRole = (typeof APPROVAL_ROLES)[number];
export const SHIFT_FIELDS = [
  'hrOffsetBpm',
  'sdnnScale',
  'gaitVigorScale',
  'noiseScale',
  'accelGain',
  'ecgGain',
  'ppgGain',
  'afPrevalenceScale',
] as const;
export type Shift = Partial<Record<(typeof SHIFT_FIELDS)[number], number>>;

/** The collector's alert rule and evaluation window for the run (monitor/collector options). */
export interface CollectorRule {
  readonly bucketS: number;
  readonly graceS: number;
  readonly consecutiveWindows: number;
  readonly minPsi: number;
  readonly fdr: number;
}

export interface CohortSpec {
  readonly id: string;
  /** Relative share of the fleet's devices. */
  readonly share: number;
  /** Simulator population of its wearers (default: the scenario's). */
  readonly population: string | null;
}

/** A demo candidate release: the baseline bundle of its family with these changes. */
export interface CandidateSpec {
  readonly name: string;
  readonly family: Family;
  readonly version: string;
  readonly autoPromote: boolean;
  readonly shadowMinWindows: number;
  readonly probationWindows: number;
  /** A latency bound for probation (e.g. one no gateway meets, for a bad release). */
  readonly maxLatencyP99Ms: number | null;
  /** Reviewer roles that approve it (all three for a full release). */
  readonly approvals: readonly ApprovalRole[];
  readonly releaseNotes: string;
}

export type StepAction =
  | { readonly do: 'narrate'; readonly text: string }
  | {
      readonly do: 'gain';
      readonly cohort: string;
      readonly sensor: 'accel' | 'ecg';
      readonly factor: number;
      readonly firmware: string | null;
    }
  | {
      readonly do: 'population';
      readonly cohort: string;
      readonly population: string;
      readonly shift: Shift;
      /** How the new wearers spend their day (simulator/fleet/wearer.ts DAY_SCHEDULES). */
      readonly day: 'home' | 'active';
    }
  | { readonly do: 'fall'; readonly device: number }
  | { readonly do: 'af'; readonly device: number; readonly durationS: number }
  | { readonly do: 'lead-off'; readonly device: number; readonly durationS: number }
  | {
      readonly do: 'push';
      readonly bundle: string;
      readonly devices: readonly number[] | null;
      readonly except: readonly number[];
    }
  | { readonly do: 'push-corrupted'; readonly bundle: string; readonly device: number }
  | { readonly do: 'promote'; readonly bundle: string; readonly cohort: string | null }
  | {
      readonly do: 'power-loss';
      readonly device: number;
      /** `update`: when the device is part-way through the transfer of the latest push. */
      readonly during: 'update' | 'now';
      readonly downS: number;
    }
  | { readonly do: 'link-loss'; readonly device: number; readonly durationS: number }
  | { readonly do: 'broker-outage'; readonly durationS: number }
  | {
      readonly do: 'acknowledge';
      readonly cohort: string | null;
      readonly by: string;
      readonly comment: string;
    };

export type Step = { readonly atS: number } & StepAction;
export type StepKind = StepAction['do'];

export type Expectation =
  | {
      readonly kind: 'drift-alert';
      readonly cohort: string;
      readonly family: Family;
      /** Drift onset (scenario time). */
      readonly afterS: number;
      /** The alert must open within this many evaluation windows after the onset. */
      readonly withinBuckets: number;
    }
  | { readonly kind: 'no-drift-alert'; readonly except: readonly string[] }
  | { readonly kind: 'update-rejected'; readonly device: number; readonly bundle: string }
  | {
      readonly kind: 'active';
      readonly bundle: string;
      /** Only the devices of this cohort (null: the whole fleet). */
      readonly cohort: string | null;
      readonly except: readonly number[];
    }
  | { readonly kind: 'rolled-back'; readonly bundle: string; readonly cohort: string | null }
  | { readonly kind: 'reports-delivered' }
  | { readonly kind: 'audit-verified' }
  | { readonly kind: 'consistent'; readonly device: number };

export interface Scenario {
  readonly format: typeof SCENARIO_FORMAT;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly seed: string;
  readonly fleet: string;
  readonly devices: number;
  readonly durationS: number;
  readonly reportIntervalS: number;
  readonly collector: CollectorRule;
  readonly population: string;
  readonly cohorts: readonly CohortSpec[];
  readonly candidates: readonly CandidateSpec[];
  readonly steps: readonly Step[];
  readonly expect: readonly Expectation[];
}

// --- field readers ------------------------------------------------------------------------------

type Obj = Readonly<Record<string, unknown>>;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Demo versions carry a `-demo` pre-release tag so no demo bundle can pass for a real one. */
const DEMO_VERSION = /^\d{1,4}\.\d{1,4}\.\d{1,4}-demo(\.[0-9A-Za-z-]{1,16})?$/;
const POPULATION = /^[a-z0-9=+;._-]{0,200}$/;

function object(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ScenarioError('BAD_FIELD', 'must be an object', path);
  }
  return value as Obj;
}

function only(o: Obj, keys: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) {
      throw new ScenarioError('UNKNOWN_FIELD', `unknown field "${k.slice(0, 64)}"`, join(path, k));
    }
  }
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
}

function text(
  o: Obj,
  key: string,
  path: string,
  opts: { max?: number; pattern?: RegExp; what?: string; fallback?: string } = {},
): string {
  const v = o[key];
  if (v === undefined && opts.fallback !== undefined) return opts.fallback;
  const max = opts.max ?? 128;
  if (typeof v !== 'string' || v.length === 0 || v.length > max || (opts.pattern && !opts.pattern.test(v))) {
    throw new ScenarioError(
      'BAD_FIELD',
      `must be ${opts.what ?? `text of 1–${max} characters`}`,
      join(path, key),
    );
  }
  return v;
}

function optText(
  o: Obj,
  key: string,
  path: string,
  opts: { max?: number; pattern?: RegExp; what?: string } = {},
) {
  return o[key] === undefined || o[key] === null ? null : text(o, key, path, opts);
}

function number(
  o: Obj,
  key: string,
  path: string,
  opts: { min: number; max: number; integer?: boolean; fallback?: number },
): number {
  const v = o[key];
  if (v === undefined && opts.fallback !== undefined) return opts.fallback;
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    v < opts.min ||
    v > opts.max ||
    (opts.integer === true && !Number.isInteger(v))
  ) {
    throw new ScenarioError(
      'BAD_FIELD',
      `must be ${opts.integer === true ? 'an integer' : 'a number'} in [${opts.min}, ${opts.max}]`,
      join(path, key),
    );
  }
  return v;
}

function bool(o: Obj, key: string, path: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ScenarioError('BAD_FIELD', 'must be true or false', join(path, key));
  return v;
}

function list(
  o: Obj,
  key: string,
  path: string,
  max: number,
  fallback?: readonly unknown[],
): readonly unknown[] {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (!Array.isArray(v)) throw new ScenarioError('BAD_FIELD', 'must be an array', join(path, key));
  if (v.length > max) throw new ScenarioError('TOO_LARGE', `at most ${max} entries`, join(path, key));
  return v as readonly unknown[];
}

function deviceIndex(o: Obj, key: string, path: string): number {
  return number(o, key, path, { min: 0, max: SCENARIO_LIMITS.maxDevices - 1, integer: true });
}

function deviceList(o: Obj, key: string, path: string): number[] {
  return list(o, key, path, SCENARIO_LIMITS.maxDevices).map((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= SCENARIO_LIMITS.maxDevices) {
      throw new ScenarioError('BAD_FIELD', 'must be a device index', join(join(path, key), i));
    }
    return v;
  });
}

function family(o: Obj, key: string, path: string): Family {
  const v = o[key];
  const found = FAMILIES.find((f) => f === v);
  if (found === undefined)
    throw new ScenarioError('BAD_FIELD', `must be one of ${FAMILIES.join(', ')}`, join(path, key));
  return found;
}

// --- sections ------------------------------------------------------------------------------------

const COLLECTOR_DEFAULTS: CollectorRule = Object.freeze({
  bucketS: 30,
  graceS: 4,
  consecutiveWindows: 2,
  minPsi: 4,
  fdr: 0.01,
});

function readCollector(value: unknown, reportIntervalS: number, path: string): CollectorRule {
  if (value === undefined)
    return { ...COLLECTOR_DEFAULTS, bucketS: Math.max(COLLECTOR_DEFAULTS.bucketS, reportIntervalS) };
  const o = object(value, path);
  only(o, ['bucketS', 'graceS', 'consecutiveWindows', 'minPsi', 'fdr'], path);
  const bucketS = number(o, 'bucketS', path, {
    min: 1,
    max: 86_400,
    integer: true,
    fallback: COLLECTOR_DEFAULTS.bucketS,
  });
  if (86_400 % bucketS !== 0 || bucketS % reportIntervalS !== 0) {
    throw new ScenarioError(
      'BAD_FIELD',
      `must divide a day and be a multiple of reportIntervalS (${reportIntervalS})`,
      join(path, 'bucketS'),
    );
  }
  return {
    bucketS,
    graceS: number(o, 'graceS', path, { min: 0, max: 3600, fallback: COLLECTOR_DEFAULTS.graceS }),
    consecutiveWindows: number(o, 'consecutiveWindows', path, {
      min: 1,
      max: 100,
      integer: true,
      fallback: COLLECTOR_DEFAULTS.consecutiveWindows,
    }),
    minPsi: number(o, 'minPsi', path, { min: 0, max: 100, fallback: COLLECTOR_DEFAULTS.minPsi }),
    fdr: number(o, 'fdr', path, { min: 1e-12, max: 0.5, fallback: COLLECTOR_DEFAULTS.fdr }),
  };
}

function readCohort(value: unknown, path: string): CohortSpec {
  const o = object(value, path);
  only(o, ['id', 'share', 'population'], path);
  return {
    id: text(o, 'id', path, { max: 64, pattern: ID, what: 'a cohort id (letters, digits, ._-)' }),
    share: number(o, 'share', path, { min: 0.001, max: 1000, fallback: 1 }),
    population: optText(o, 'population', path, {
      max: 200,
      pattern: POPULATION,
      what: 'a simulator cohort key',
    }),
  };
}

function readCandidate(value: unknown, path: string): CandidateSpec {
  const o = object(value, path);
  only(
    o,
    [
      'name',
      'family',
      'version',
      'autoPromote',
      'shadowMinWindows',
      'probationWindows',
      'maxLatencyP99Ms',
      'approvals',
      'releaseNotes',
    ],
    path,
  );
  const approvals = list(o, 'approvals', path, 3, APPROVAL_ROLES).map((v, i) => {
    const role = APPROVAL_ROLES.find((r) => r === v);
    if (role === undefined) {
      throw new ScenarioError(
        'BAD_FIELD',
        `must be one of ${APPROVAL_ROLES.join(', ')}`,
        join(join(path, 'approvals'), i),
      );
    }
    return role;
  });
  if (new Set(approvals).size !== approvals.length) {
    throw new ScenarioError('BAD_FIELD', 'roles must be distinct', join(path, 'approvals'));
  }
  const maxLatency = o.maxLatencyP99Ms;
  return {
    name: text(o, 'name', path, { max: 64, pattern: NAME, what: 'a lower-case name' }),
    family: family(o, 'family', path),
    version: text(o, 'version', path, {
      max: 40,
      pattern: DEMO_VERSION,
      what: 'a semantic version with the -demo tag (e.g. 1.1.0-demo)',
    }),
    autoPromote: bool(o, 'autoPromote', path, false),
    shadowMinWindows: number(o, 'shadowMinWindows', path, {
      min: 1,
      max: 1_000_000,
      integer: true,
      fallback: 30,
    }),
    probationWindows: number(o, 'probationWindows', path, {
      min: 1,
      max: 1_000_000,
      integer: true,
      fallback: 60,
    }),
    maxLatencyP99Ms:
      maxLatency === undefined || maxLatency === null
        ? null
        : number(o, 'maxLatencyP99Ms', path, { min: 0.0001, max: 60_000 }),
    approvals,
    releaseNotes: text(o, 'releaseNotes', path, {
      max: SCENARIO_LIMITS.maxText,
      fallback: 'Demo candidate release.',
    }),
  };
}

function readShift(value: unknown, path: string): Shift {
  const o = object(value, path);
  only(o, SHIFT_FIELDS, path);
  const out: Record<string, number> = {};
  for (const k of SHIFT_FIELDS) {
    if (o[k] !== undefined) out[k] = number(o, k, path, { min: -100, max: 100 });
  }
  return out;
}

function readDay(value: unknown, path: string): 'home' | 'active' {
  if (value === undefined) return 'home';
  if (value !== 'home' && value !== 'active')
    throw new ScenarioError('BAD_FIELD', 'must be home or active', path);
  return value;
}

const STEP_FIELDS: Readonly<Record<StepKind, readonly string[]>> = {
  narrate: ['text'],
  gain: ['cohort', 'sensor', 'factor', 'firmware'],
  population: ['cohort', 'population', 'shift', 'day'],
  fall: ['device'],
  af: ['device', 'durationS'],
  'lead-off': ['device', 'durationS'],
  push: ['bundle', 'devices', 'except'],
  'push-corrupted': ['bundle', 'device'],
  promote: ['bundle', 'cohort'],
  'power-loss': ['device', 'during', 'downS'],
  'link-loss': ['device', 'durationS'],
  'broker-outage': ['durationS'],
  acknowledge: ['cohort', 'by', 'comment'],
};

function readStep(value: unknown, path: string, durationS: number): Step {
  const o = object(value, path);
  const kind = o.do;
  const kinds = Object.keys(STEP_FIELDS) as StepKind[];
  const k = kinds.find((x) => x === kind);
  if (k === undefined)
    throw new ScenarioError('BAD_FIELD', `must be one of ${kinds.join(', ')}`, join(path, 'do'));
  only(o, ['atS', 'do', ...STEP_FIELDS[k]], path);
  const atS = number(o, 'atS', path, { min: 0, max: durationS });
  const span = (key: string) => number(o, key, path, { min: 1, max: SCENARIO_LIMITS.maxDurationS });
  const bundle = () => text(o, 'bundle', path, { max: 64, pattern: NAME, what: 'a bundle name' });
  const cohortRef = () => text(o, 'cohort', path, { max: 64, pattern: ID, what: 'a cohort id' });
  switch (k) {
    case 'narrate':
      return { atS, do: k, text: text(o, 'text', path, { max: SCENARIO_LIMITS.maxText }) };
    case 'gain': {
      const sensor = o.sensor ?? 'accel';
      if (sensor !== 'accel' && sensor !== 'ecg') {
        throw new ScenarioError('BAD_FIELD', 'must be accel or ecg', join(path, 'sensor'));
      }
      return {
        atS,
        do: k,
        cohort: cohortRef(),
        sensor,
        factor: number(o, 'factor', path, { min: 0.05, max: 20 }),
        firmware: optText(o, 'firmware', path, {
          max: 64,
          pattern: /^[\x21-\x7e]{1,64}$/,
          what: 'a firmware version',
        }),
      };
    }
    case 'population':
      return {
        atS,
        do: k,
        cohort: cohortRef(),
        population: text(o, 'population', path, {
          max: 200,
          pattern: POPULATION,
          what: 'a simulator cohort key',
        }),
        shift: o.shift === undefined ? {} : readShift(o.shift, join(path, 'shift')),
        day: readDay(o.day, join(path, 'day')),
      };
    case 'fall':
      return { atS, do: k, device: deviceIndex(o, 'device', path) };
    case 'af':
    case 'lead-off':
      return { atS, do: k, device: deviceIndex(o, 'device', path), durationS: span('durationS') };
    case 'push':
      return {
        atS,
        do: k,
        bundle: bundle(),
        devices: o.devices === undefined || o.devices === null ? null : deviceList(o, 'devices', path),
        except: o.except === undefined ? [] : deviceList(o, 'except', path),
      };
    case 'push-corrupted':
      return { atS, do: k, bundle: bundle(), device: deviceIndex(o, 'device', path) };
    case 'promote':
      return {
        atS,
        do: k,
        bundle: bundle(),
        cohort: o.cohort === undefined || o.cohort === null ? null : cohortRef(),
      };
    case 'power-loss': {
      const during = o.during ?? 'now';
      if (during !== 'update' && during !== 'now') {
        throw new ScenarioError('BAD_FIELD', 'must be update or now', join(path, 'during'));
      }
      return {
        atS,
        do: k,
        device: deviceIndex(o, 'device', path),
        during,
        downS: number(o, 'downS', path, { min: 0.5, max: 3600, fallback: 5 }),
      };
    }
    case 'link-loss':
      return { atS, do: k, device: deviceIndex(o, 'device', path), durationS: span('durationS') };
    case 'broker-outage':
      return { atS, do: k, durationS: span('durationS') };
    case 'acknowledge':
      return {
        atS,
        do: k,
        cohort: o.cohort === undefined || o.cohort === null ? null : cohortRef(),
        by: text(o, 'by', path, { max: 128 }),
        comment: text(o, 'comment', path, { max: 1000 }),
      };
  }
}

const EXPECT_FIELDS: Readonly<Record<Expectation['kind'], readonly string[]>> = {
  'drift-alert': ['cohort', 'family', 'afterS', 'withinBuckets'],
  'no-drift-alert': ['except'],
  'update-rejected': ['device', 'bundle'],
  active: ['bundle', 'cohort', 'except'],
  'rolled-back': ['bundle', 'cohort'],
  'reports-delivered': [],
  'audit-verified': [],
  consistent: ['device'],
};

function readExpectation(value: unknown, path: string): Expectation {
  const o = object(value, path);
  const kinds = Object.keys(EXPECT_FIELDS) as Expectation['kind'][];
  const k = kinds.find((x) => x === o.kind);
  if (k === undefined)
    throw new ScenarioError('BAD_FIELD', `must be one of ${kinds.join(', ')}`, join(path, 'kind'));
  only(o, ['kind', ...EXPECT_FIELDS[k]], path);
  const bundle = () => text(o, 'bundle', path, { max: 64, pattern: NAME, what: 'a bundle name' });
  const optCohort = () => optText(o, 'cohort', path, { max: 64, pattern: ID, what: 'a cohort id' });
  switch (k) {
    case 'drift-alert':
      return {
        kind: k,
        cohort: text(o, 'cohort', path, { max: 64, pattern: ID }),
        family: family(o, 'family', path),
        afterS: number(o, 'afterS', path, { min: 0, max: SCENARIO_LIMITS.maxDurationS }),
        withinBuckets: number(o, 'withinBuckets', path, { min: 1, max: 1000, integer: true }),
      };
    case 'no-drift-alert':
      return {
        kind: k,
        except: list(o, 'except', path, SCENARIO_LIMITS.maxCohorts, []).map((v, i) => {
          if (typeof v !== 'string' || !ID.test(v)) {
            throw new ScenarioError('BAD_FIELD', 'must be a cohort id', join(join(path, 'except'), i));
          }
          return v;
        }),
      };
    case 'update-rejected':
      return { kind: k, device: deviceIndex(o, 'device', path), bundle: bundle() };
    case 'active':
      return {
        kind: k,
        bundle: bundle(),
        cohort: optCohort(),
        except: o.except === undefined ? [] : deviceList(o, 'except', path),
      };
    case 'rolled-back':
      return { kind: k, bundle: bundle(), cohort: optCohort() };
    case 'reports-delivered':
    case 'audit-verified':
      return { kind: k };
    case 'consistent':
      return { kind: k, device: deviceIndex(o, 'device', path) };
  }
}

/** Parses and checks a scenario file's bytes. Throws ScenarioError. */
export function parseScenario(bytes: Uint8Array): Scenario {
  const parsed = parseStrictJson(bytes, SCENARIO_LIMITS.maxBytes, SCENARIO_LIMITS.maxDepth);
  if (!parsed.ok) {
    const p = parsed.problem;
    switch (p.kind) {
      case 'too-large':
        throw new ScenarioError('TOO_LARGE', `${p.bytes} bytes is more than ${SCENARIO_LIMITS.maxBytes}`);
      case 'not-utf8':
        throw new ScenarioError('NOT_JSON', 'the file is not UTF-8 text');
      case 'syntax':
        throw new ScenarioError('NOT_JSON', `not JSON: ${p.message}`);
      case 'duplicate-key':
        throw new ScenarioError(
          'DUPLICATE_KEY',
          `key "${p.key.slice(0, 64)}" appears twice (offset ${p.at})`,
        );
      case 'too-deep':
        throw new ScenarioError(
          'TOO_DEEP',
          `nested deeper than ${SCENARIO_LIMITS.maxDepth} (offset ${p.at})`,
        );
    }
  }
  return readScenario(parsed.value);
}

/** Checks an already decoded value (field by field). Throws ScenarioError. */
export function readScenario(value: unknown): Scenario {
  const o = object(value, '');
  only(
    o,
    [
      'format',
      'name',
      'title',
      'description',
      'seed',
      'fleet',
      'devices',
      'durationS',
      'reportIntervalS',
      'collector',
      'population',
      'cohorts',
      'candidates',
      'steps',
      'expect',
    ],
    '',
  );
  if (o.format !== SCENARIO_FORMAT) {
    throw new ScenarioError('BAD_FORMAT', `format must be "${SCENARIO_FORMAT}"`, 'format');
  }
  const seed = o.seed ?? 1;
  if (!(
    (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) ||
    (typeof seed === 'string' && seed.length > 0 && seed.length <= 64)
  )) {
    throw new ScenarioError('BAD_FIELD', 'must be a non-negative integer or a short string', 'seed');
  }
  const durationS = number(o, 'durationS', '', { min: 10, max: SCENARIO_LIMITS.maxDurationS });
  const reportIntervalS = number(o, 'reportIntervalS', '', {
    min: 1,
    max: 3600,
    integer: true,
    fallback: 10,
  });
  if (86_400 % reportIntervalS !== 0) {
    throw new ScenarioError(
      'BAD_FIELD',
      'must divide a day (report intervals are aligned to the epoch)',
      'reportIntervalS',
    );
  }
  const cohorts = list(o, 'cohorts', '', SCENARIO_LIMITS.maxCohorts).map((c, i) =>
    readCohort(c, join('cohorts', i)),
  );
  if (cohorts.length === 0) throw new ScenarioError('BAD_FIELD', 'at least one cohort', 'cohorts');
  const ids = new Set<string>();
  for (const [i, c] of cohorts.entries()) {
    if (ids.has(c.id))
      throw new ScenarioError('BAD_FIELD', `cohort ${c.id} is listed twice`, join(join('cohorts', i), 'id'));
    ids.add(c.id);
  }
  const candidates = list(o, 'candidates', '', SCENARIO_LIMITS.maxCandidates, []).map((c, i) =>
    readCandidate(c, join('candidates', i)),
  );
  const names = new Set<string>(FAMILIES);
  for (const [i, c] of candidates.entries()) {
    if (names.has(c.name)) {
      throw new ScenarioError(
        'BAD_FIELD',
        `bundle name ${c.name} is taken`,
        join(join('candidates', i), 'name'),
      );
    }
    names.add(c.name);
  }
  const steps = list(o, 'steps', '', SCENARIO_LIMITS.maxSteps).map((s, i) =>
    readStep(s, join('steps', i), durationS),
  );
  const expect = list(o, 'expect', '', SCENARIO_LIMITS.maxExpectations, []).map((e, i) =>
    readExpectation(e, join('expect', i)),
  );
  const scenario: Scenario = {
    format: SCENARIO_FORMAT,
    name: text(o, 'name', '', { max: 64, pattern: NAME, what: 'a lower-case name' }),
    title: text(o, 'title', '', { max: 200, fallback: typeof o.name === 'string' ? o.name : '-' }),
    description: text(o, 'description', '', { max: SCENARIO_LIMITS.maxText, fallback: '-' }),
    seed: String(seed),
    fleet: text(o, 'fleet', '', { max: 64, pattern: ID, what: 'a fleet id', fallback: 'demo' }),
    devices: number(o, 'devices', '', { min: 1, max: SCENARIO_LIMITS.maxDevices, integer: true }),
    durationS,
    reportIntervalS,
    collector: readCollector(o.collector, reportIntervalS, 'collector'),
    population: text(o, 'population', '', {
      max: 200,
      pattern: POPULATION,
      what: 'a simulator cohort key',
      fallback: 'age=65+;activity=sedentary;placement=wrist',
    }),
    cohorts,
    candidates,
    steps: [...steps].sort((a, b) => a.atS - b.atS),
    expect,
  };
  checkReferences(scenario, scenario.devices);
  return scenario;
}

/**
 * Checks that every cohort, bundle and device a step or expectation names exists in a fleet of
 * `devices` devices (the scenario's own count, or `--devices`). Throws BAD_REFERENCE.
 */
export function checkReferences(s: Scenario, devices: number): void {
  const cohorts = new Set(s.cohorts.map((c) => c.id));
  const bundles = new Set<string>([...FAMILIES, ...s.candidates.map((c) => c.name)]);
  const candidates = new Set(s.candidates.map((c) => c.name));
  const device = (i: number, where: string) => {
    if (i >= devices) {
      throw new ScenarioError(
        'BAD_REFERENCE',
        `device ${i} is not in a fleet of ${devices} devices (this scenario needs at least ${minimumDevices(s)})`,
        where,
      );
    }
  };
  const cohort = (id: string | null, where: string) => {
    if (id !== null && !cohorts.has(id)) throw new ScenarioError('BAD_REFERENCE', `no cohort ${id}`, where);
  };
  const bundle = (name: string, where: string, candidate: boolean) => {
    if (!(candidate ? candidates : bundles).has(name)) {
      throw new ScenarioError('BAD_REFERENCE', `no ${candidate ? 'candidate ' : ''}bundle ${name}`, where);
    }
  };
  s.steps.forEach((step, i) => {
    const at = `steps[${i}]`;
    switch (step.do) {
      case 'narrate':
      case 'broker-outage':
        break;
      case 'gain':
      case 'population':
        cohort(step.cohort, at);
        break;
      case 'acknowledge':
        cohort(step.cohort, at);
        break;
      case 'fall':
      case 'af':
      case 'lead-off':
      case 'power-loss':
      case 'link-loss':
        device(step.device, at);
        break;
      case 'push':
        bundle(step.bundle, at, true);
        for (const d of [...(step.devices ?? []), ...step.except]) device(d, at);
        break;
      case 'push-corrupted':
        bundle(step.bundle, at, false);
        device(step.device, at);
        break;
      case 'promote':
        bundle(step.bundle, at, true);
        cohort(step.cohort, at);
        break;
    }
  });
  s.expect.forEach((e, i) => {
    const at = `expect[${i}]`;
    switch (e.kind) {
      case 'drift-alert':
        cohort(e.cohort, at);
        break;
      case 'no-drift-alert':
        for (const c of e.except) cohort(c, at);
        break;
      case 'update-rejected':
        device(e.device, at);
        bundle(e.bundle, at, false);
        break;
      case 'active':
        bundle(e.bundle, at, false);
        cohort(e.cohort, at);
        for (const d of e.except) device(d, at);
        break;
      case 'rolled-back':
        bundle(e.bundle, at, true);
        cohort(e.cohort, at);
        break;
      case 'consistent':
        device(e.device, at);
        break;
      case 'reports-delivered':
      case 'audit-verified':
        break;
    }
  });
}

/** The smallest fleet a scenario can run with: one more than the highest device index it names. */
export function minimumDevices(s: Scenario): number {
  let highest = -1;
  for (const step of s.steps) {
    switch (step.do) {
      case 'fall':
      case 'af':
      case 'lead-off':
      case 'power-loss':
      case 'link-loss':
      case 'push-corrupted':
        highest = Math.max(highest, step.device);
        break;
      case 'push':
        for (const d of [...(step.devices ?? []), ...step.except]) highest = Math.max(highest, d);
        break;
      case 'narrate':
      case 'gain':
      case 'population':
      case 'promote':
      case 'broker-outage':
      case 'acknowledge':
        break;
    }
  }
  for (const e of s.expect) {
    switch (e.kind) {
      case 'update-rejected':
      case 'consistent':
        highest = Math.max(highest, e.device);
        break;
      case 'active':
        for (const d of e.except) highest = Math.max(highest, d);
        break;
      case 'drift-alert':
      case 'no-drift-alert':
      case 'rolled-back':
      case 'reports-delivered':
      case 'audit-verified':
        break;
    }
  }
  return Math.max(1, highest + 1);
}

/** Device ids of a fleet: `wearer-01` … (zero-padded to the width of the count). */
export function deviceIds(count: number): string[] {
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => `wearer-${String(i + 1).padStart(width, '0')}`);
}

/** Cohort of each device: shares turned into counts (largest remainders), interleaved. */
export function assignCohorts(cohorts: readonly CohortSpec[], count: number): string[] {
  const total = cohorts.reduce((n, c) => n + c.share, 0);
  const exact = cohorts.map((c) => (c.share / total) * count);
  const counts = exact.map((x) => Math.floor(x));
  let left = count - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    counts[i] = (counts[i] ?? 0) + 1;
    left -= 1;
  }
  // Interleave so that any device index range mixes cohorts (device i → cohort by round-robin of what is left).
  const out: string[] = [];
  const remaining = [...counts];
  while (out.length < count) {
    for (const [i, c] of cohorts.entries()) {
      if ((remaining[i] ?? 0) > 0) {
        out.push(c.id);
        remaining[i] = (remaining[i] ?? 0) - 1;
      }
    }
  }
  return out;
}
