// The official ONNX checker (Debian python3-onnx, /usr/bin/python3) must accept what the writer
// produces. CI installs python3-onnx, so a missing module is a failure, not a skip.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildMlpClassifier } from '../../../models/onnx/index.ts';
import type { MlpClassifierSpec } from '../../../models/onnx/index.ts';
import { exportClassifierOnnx, trainClassifier } from '../../../models/training/index.ts';
import { syntheticData } from '../../unit/models/training/synthetic.ts';

const PYTHON = '/usr/bin/python3';
const CHECK = 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)';

function requireOnnxModule(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `The ONNX checker is required: '${PYTHON} -c "import onnx"' failed ` +
        `(${probe.error?.message ?? probe.stderr.trim()}). Install it: apt-get install -y python3-onnx`,
    );
  }
}

function check(path: string): { ok: boolean; stderr: string } {
  try {
    execFileSync(PYTHON, ['-c', CHECK, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { ok: true, stderr: '' };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: unknown }).stderr ?? e) };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-onnx-checker-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tiny(activation: 'tanh' | 'relu', hidden: number[], impute: boolean): MlpClassifierSpec {
  const f = 3;
  const sizes = [f, ...hidden, 1];
  const layers = sizes.slice(1).map((out, l) => ({
    weights: Float32Array.from({ length: (sizes[l] ?? 0) * out }, (_, i) => ((i % 5) - 2) / 7),
    bias: Float32Array.from({ length: out }, (_, i) => i / 10),
  }));
  return {
    inputName: 'features',
    outputName: 'p',
    featureCount: f,
    ...(impute ? { impute: Float32Array.from([1, 2, 3]) } : {}),
    center: Float32Array.from([0, 1, 2]),
    scale: Float32Array.from([1, 2, 3]),
    layers,
    activation,
    output: 'sigmoid',
    docString: 'checker test',
    metadata: { 'vigil.test': 'yes' },
  };
}

describe('ONNX checker (python3-onnx, full_check)', () => {
  it('python3-onnx is installed', () => {
    requireOnnxModule();
  });

  const models: [string, () => Uint8Array][] = [
    ['tanh MLP with imputation', () => buildMlpClassifier(tiny('tanh', [4], true))],
    ['relu MLP, two hidden layers, no imputation', () => buildMlpClassifier(tiny('relu', [4, 3], false))],
    ['logistic regression', () => buildMlpClassifier(tiny('tanh', [], true))],
    [
      'trained classifier',
      () => {
        const train = syntheticData(300, 6, 11);
        const validation = syntheticData(100, 6, 12);
        const model = trainClassifier(train, validation, { seed: 3, maxEpochs: 20 });
        return exportClassifierOnnx(model, {
          inputName: 'features',
          outputName: 'p_positive',
          docString: 'trained in test',
          metadata: {},
        });
      },
    ],
  ];

  for (const [name, make] of models) {
    it(`accepts: ${name}`, () => {
      requireOnnxModule();
      const path = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.onnx`);
      writeFileSync(path, make());
      const result = check(path);
      expect(result.stderr).toBe('');
      expect(result.ok).toBe(true);
    });
  }

  it('rejects a corrupted model (the check can fail)', () => {
    requireOnnxModule();
    const bytes = buildMlpClassifier(tiny('tanh', [4], true));
    const path = join(dir, 'corrupt.onnx');
    writeFileSync(path, bytes.subarray(0, bytes.length - 7));
    expect(check(path).ok).toBe(false);
  });
});
