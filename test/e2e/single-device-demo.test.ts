// The first demo as a test: signed demo bundles are verified and loaded, and the injected fall and
// AF episode are detected while the ECG lead-off only ever yields declared fallbacks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSingleDeviceDemo } from '../../scripts/demo/single-device.ts';

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-demo-test-'));
afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('single-device demo', () => {
  it('detects the injected fall and AF episode and never shows lead-off windows as model output', async () => {
    const lines: string[] = [];
    const summary = await runSingleDeviceDemo({
      workDir,
      seconds: 60,
      seed: 7,
      out: (l) => lines.push(l),
      progress: false,
    });
    expect(summary.fallDetectedAtS).not.toBeNull();
    expect(summary.fallDetectedAtS ?? 0).toBeGreaterThanOrEqual(8);
    expect(summary.fallDetectedAtS ?? 99).toBeLessThanOrEqual(12);
    expect(summary.afDetectedAtS).not.toBeNull();
    expect(summary.leadOffFallbacks).toBeGreaterThan(0);
    // Every ECG window that overlaps the lead-off (2–6 s) must be a fallback, never `ok`.
    const t0 = Math.min(...summary.results.map((r) => r.startMs));
    const ecgDuringLeadOff = summary.results.filter(
      (r) => r.provenance.modelFamily === 'af-screener' && r.startMs - t0 < 6000,
    );
    expect(ecgDuringLeadOff.length).toBeGreaterThan(0);
    expect(ecgDuringLeadOff.every((r) => r.status.kind === 'fallback')).toBe(true);
    // Before the fall there is no fall alert, and provenance names the approved bundles.
    for (const r of summary.results) {
      expect(r.provenance.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.provenance.bundleId).toBe(`${r.provenance.modelFamily}@1.0.0`);
    }
    expect(lines.some((l) => l.includes('DEMO keys'))).toBe(true);
  }, 120_000);
});
