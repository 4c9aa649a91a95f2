// The committed reference models: a fresh build reproduces the lock file byte for byte, the
// official ONNX checker accepts them, and their evidence meets the declared acceptance criteria.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  REFERENCE_MODELS,
  checkReferenceLock,
  referenceDir,
} from '../../../scripts/models/reference-build.ts';

const CHECK = 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)';

describe.each(REFERENCE_MODELS.map((entry) => [entry.spec.name, entry] as const))('%s', (name, entry) => {
  const dir = referenceDir(name);

  it('rebuilds byte-identical to the committed lock', async () => {
    expect(await checkReferenceLock(entry)).toEqual([]);
  }, 120_000);

  it('passes the ONNX checker (Debian python3-onnx) and stays small', () => {
    const file = path.join(dir, 'model.onnx');
    expect(fs.statSync(file).size).toBeLessThan(1024 * 1024);
    // Throws (failing the test) when the checker rejects the model or python3-onnx is missing.
    execFileSync('/usr/bin/python3', ['-c', CHECK, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  });

  it('has evidence that meets every declared acceptance criterion on held-out data', () => {
    const evidence = JSON.parse(fs.readFileSync(path.join(dir, 'evidence.json'), 'utf8')) as {
      summary: { allPassed: boolean; acceptance: { passed: boolean }[]; testSet: { n: number } };
      data: { test: { n: number; positives: number } };
      provenance: { splitKey: string; datasetSnapshotSha256: string; seed: number };
    };
    expect(evidence.summary.acceptance.length).toBeGreaterThanOrEqual(4);
    expect(evidence.summary.acceptance.every((c) => c.passed)).toBe(true);
    expect(evidence.summary.allPassed).toBe(true);
    expect(evidence.summary.testSet.n).toBe(evidence.data.test.n);
    expect(evidence.data.test.positives).toBeGreaterThan(50);
    expect(evidence.provenance.splitKey).toBe(entry.spec.splitKey);
    expect(evidence.provenance.datasetSnapshotSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
