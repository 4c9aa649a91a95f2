// The scenario format: shipped files parse; every refusal has its code and path; arbitrary input only
// ever gives a ScenarioError; device and cohort references are checked against the fleet size.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HOME_DAY,
  SCENARIO_FORMAT,
  SCENARIO_LIMITS,
  ScenarioError,
  assignCohorts,
  checkReferences,
  deviceIds,
  parseScenario,
  parseStrictJson,
  planFleet,
  readScenario,
  wearerPlan,
  type Scenario,
} from '../../../../simulator/fleet/index.ts';

const SCENARIOS = path.resolve(import.meta.dirname, '../../../../simulator/fleet/scenarios');
const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

function minimal(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: SCENARIO_FORMAT,
    name: 'unit',
    devices: 4,
    durationS: 60,
    cohorts: [{ id: 'a' }, { id: 'b' }],
    candidates: [{ name: 'cand', family: 'fall-detector', version: '1.1.0-demo' }],
    steps: [],
    ...over,
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    return error instanceof ScenarioError ? error.code : `other: ${String(error)}`;
  }
}

function pathOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    return error instanceof ScenarioError ? error.path : 'other';
  }
}

describe('scenario files', () => {
  it('every shipped scenario parses and names only devices, cohorts and bundles it has', () => {
    const files = fs.readdirSync(SCENARIOS).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual([
      'bad-update.json',
      'broker-outage.json',
      'demo.json',
      'population-shift.json',
      'quiet-fleet.json',
    ]);
    for (const f of files) {
      const s = parseScenario(new Uint8Array(fs.readFileSync(path.join(SCENARIOS, f))));
      expect(s.name).toBe(f.replace(/\.json$/, ''));
      expect(s.collector.bucketS % s.reportIntervalS).toBe(0);
      expect(s.steps.map((x) => x.atS)).toEqual([...s.steps.map((x) => x.atS)].sort((a, b) => a - b));
    }
  });

  it('fills defaults and sorts the steps by time', () => {
    const s = readScenario(
      minimal({
        steps: [
          { atS: 30, do: 'narrate', text: 'later' },
          { atS: 5, do: 'gain', cohort: 'b', factor: 2 },
        ],
      }),
    );
    expect(s.steps.map((x) => x.do)).toEqual(['gain', 'narrate']);
    expect(s.steps[0]).toMatchObject({ sensor: 'accel', firmware: null, factor: 2 });
    expect(s.reportIntervalS).toBe(10);
    expect(s.collector).toMatchObject({ bucketS: 30, consecutiveWindows: 2 });
    expect(s.candidates[0]).toMatchObject({
      autoPromote: false,
      approvals: ['qa', 'clinical', 'regulatory'],
    });
    expect(s.fleet).toBe('demo');
  });
});

describe('refusals', () => {
  it('caps the size and reads strict JSON', () => {
    expect(codeOf(() => parseScenario(new Uint8Array(SCENARIO_LIMITS.maxBytes + 1)))).toBe('TOO_LARGE');
    expect(codeOf(() => parseScenario(bytes('{')))).toBe('NOT_JSON');
    expect(codeOf(() => parseScenario(Uint8Array.of(0xff, 0xfe, 0x7b)))).toBe('NOT_JSON');
    expect(codeOf(() => parseScenario(bytes('{"name":"a","name":"b"}')))).toBe('DUPLICATE_KEY');
    expect(codeOf(() => parseScenario(bytes(`{"x":${'['.repeat(20)}${']'.repeat(20)}}`)))).toBe('TOO_DEEP');
    expect(codeOf(() => parseScenario(bytes({ ...minimal(), format: 'vigil-scenario/2' })))).toBe(
      'BAD_FORMAT',
    );
  });

  it('names the field it refuses', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [minimal({ colour: 'red' }), 'UNKNOWN_FIELD', 'colour'],
      [minimal({ devices: 0 }), 'BAD_FIELD', 'devices'],
      [minimal({ durationS: 5 }), 'BAD_FIELD', 'durationS'],
      [minimal({ reportIntervalS: 7 }), 'BAD_FIELD', 'reportIntervalS'],
      [minimal({ collector: { bucketS: 25 } }), 'BAD_FIELD', 'collector.bucketS'],
      [minimal({ cohorts: [] }), 'BAD_FIELD', 'cohorts'],
      [minimal({ cohorts: [{ id: 'a' }, { id: 'a' }] }), 'BAD_FIELD', 'cohorts[1].id'],
      [minimal({ cohorts: [{ id: 'a/b' }] }), 'BAD_FIELD', 'cohorts[0].id'],
      [
        minimal({ candidates: [{ name: 'c', family: 'fall-detector', version: '1.1.0' }] }),
        'BAD_FIELD',
        'candidates[0].version',
      ],
      [
        minimal({ candidates: [{ name: 'fall-detector', family: 'fall-detector', version: '1.1.0-demo' }] }),
        'BAD_FIELD',
        'candidates[0].name',
      ],
      [minimal({ steps: [{ atS: 1, do: 'explode' }] }), 'BAD_FIELD', 'steps[0].do'],
      [minimal({ steps: [{ atS: 61, do: 'narrate', text: 'x' }] }), 'BAD_FIELD', 'steps[0].atS'],
      [minimal({ steps: [{ atS: 1, do: 'fall', device: 1, when: 2 }] }), 'UNKNOWN_FIELD', 'steps[0].when'],
      [
        minimal({ steps: [{ atS: 1, do: 'power-loss', device: 1, during: 'later' }] }),
        'BAD_FIELD',
        'steps[0].during',
      ],
      [minimal({ steps: [{ atS: 1, do: 'fall', device: 4 }] }), 'BAD_REFERENCE', 'steps[0]'],
      [minimal({ steps: [{ atS: 1, do: 'gain', cohort: 'c', factor: 2 }] }), 'BAD_REFERENCE', 'steps[0]'],
      [minimal({ steps: [{ atS: 1, do: 'push', bundle: 'fall-detector' }] }), 'BAD_REFERENCE', 'steps[0]'],
      [minimal({ expect: [{ kind: 'consistent', device: 9 }] }), 'BAD_REFERENCE', 'expect[0]'],
      [
        minimal({ expect: [{ kind: 'drift-alert', cohort: 'a', family: 'x', afterS: 1, withinBuckets: 2 }] }),
        'BAD_FIELD',
        'expect[0].family',
      ],
    ];
    for (const [value, code, where] of cases) {
      expect([codeOf(() => readScenario(value)), pathOf(() => readScenario(value))]).toEqual([code, where]);
    }
  });

  it('checks device references against a smaller fleet (--devices)', () => {
    const s = readScenario(minimal({ steps: [{ atS: 1, do: 'link-loss', device: 3, durationS: 5 }] }));
    expect(
      codeOf(() => {
        checkReferences(s, 4);
      }),
    ).toBe('none');
    expect(
      codeOf(() => {
        checkReferences(s, 3);
      }),
    ).toBe('BAD_REFERENCE');
    expect(codeOf(() => planFleet(s, { devices: 2 }))).toBe('BAD_REFERENCE');
  });

  it('gives nothing but a ScenarioError for arbitrary input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.json().map((j) => bytes(j)),
          fc
            .record({
              devices: fc.oneof(fc.integer(), fc.string()),
              durationS: fc.double(),
              steps: fc.array(
                fc.record({
                  atS: fc.double(),
                  do: fc.constantFrom('fall', 'push', 'gain', 'x'),
                  device: fc.integer(),
                }),
              ),
            })
            .map((r) => bytes({ ...minimal(), ...r })),
        ),
        (input) => {
          expect(codeOf(() => parseScenario(input))).not.toMatch(/^other/);
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('strict JSON', () => {
  it('sees duplicate keys at any depth, and not inside strings', () => {
    const dup = (t: string) => {
      const r = parseStrictJson(bytes(t), 1000, 8);
      return r.ok ? 'ok' : r.problem.kind;
    };
    expect(dup('{"a":{"b":1,"b":2}}')).toBe('duplicate-key');
    expect(dup('{"a":[{"b":1},{"b":2}]}')).toBe('ok');
    expect(dup('{"a":"\\"a\\":1","b":{"a":1}}')).toBe('ok');
    expect(dup('{"\\u0061":1,"a":2}')).toBe('duplicate-key');
    expect(dup('[1,2')).toBe('syntax');
  });
});

describe('fleet plan', () => {
  it('spreads cohorts by share, interleaved, and numbers devices', () => {
    expect(deviceIds(3)).toEqual(['wearer-01', 'wearer-02', 'wearer-03']);
    expect(deviceIds(120)[0]).toBe('wearer-001');
    const cohorts = assignCohorts(
      [
        { id: 'a', share: 1, population: null },
        { id: 'b', share: 3, population: null },
      ],
      8,
    );
    expect(cohorts.filter((c) => c === 'a')).toHaveLength(2);
    expect(cohorts.slice(0, 2)).toEqual(['a', 'b']);
  });

  it('plans wearer events and new wearers for the devices a step concerns', () => {
    const s: Scenario = readScenario(
      minimal({
        cohorts: [{ id: 'a' }, { id: 'b', population: 'age=18-39' }],
        steps: [
          { atS: 10, do: 'gain', cohort: 'b', factor: 1.5 },
          { atS: 20, do: 'population', cohort: 'a', population: 'age=65+;activity=active' },
          { atS: 30, do: 'af', device: 0, durationS: 20 },
          { atS: 40, do: 'power-loss', device: 3 },
        ],
      }),
    );
    const plan = planFleet(s);
    expect(plan.devices.map((d) => [d.cohort, d.population, d.outOfProcess])).toEqual([
      ['a', s.population, false],
      ['b', 'age=18-39', false],
      ['a', s.population, false],
      ['b', 'age=18-39', true],
    ]);
    const d0 = plan.devices[0];
    const d1 = plan.devices[1];
    if (!d0 || !d1) throw new Error('devices expected');
    expect(wearerPlan(plan, d0)).toEqual({
      events: [{ kind: 'af', startS: 30, endS: 50 }],
      wearers: [
        { fromS: 0, population: s.population },
        { fromS: 20, population: 'age=65+;activity=active', shift: {}, schedule: HOME_DAY },
      ],
    });
    expect(wearerPlan(plan, d1).events).toEqual([{ kind: 'gain', sensor: 'accel', factor: 1.5, startS: 10 }]);
  });
});
