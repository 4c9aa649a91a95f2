// docs/ops.md stays true: its catalogue section is generated from the definitions, every
// feature is documented, and its example preprocessing lists are the ones the tests run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACCEL_FEATURE_NAMES,
  ACTIVITY_NAMES,
  ECG_SQI_NAMES,
  OP_CATALOGUE,
  PPG_SQI_NAMES,
  RR_FEATURE_NAMES,
} from '../../../../models/ops/index.ts';
import { AF_ECG_STEPS, AF_PPG_STEPS, FALL_STEPS } from './plans.ts';
import { DOCS, END, START, generatedSection } from './update-docs.ts';

const text = readFileSync(DOCS, 'utf8');

describe('docs/ops.md', () => {
  it('holds the generated catalogue section verbatim (run update-docs.ts after changing an op)', () => {
    const section = text.slice(text.indexOf(START), text.indexOf(END) + END.length);
    expect(section).toBe(generatedSection());
    for (const key of OP_CATALOGUE.keys()) expect(section).toContain(`### \`${key}\``);
  });

  it('documents every feature name with a table row', () => {
    for (const name of [
      ...ACCEL_FEATURE_NAMES,
      ...RR_FEATURE_NAMES,
      ...ECG_SQI_NAMES,
      ...PPG_SQI_NAMES,
      ...ACTIVITY_NAMES,
    ]) {
      expect(text, name).toContain(`| \`${name}\` |`);
    }
  });

  it('shows exactly the example lists the tests compile and run', () => {
    const blocks = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map(
      (m) => JSON.parse(m[1] ?? '') as unknown,
    );
    expect(blocks).toEqual([FALL_STEPS, AF_ECG_STEPS, AF_PPG_STEPS]);
  });
});
