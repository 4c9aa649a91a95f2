// Thin entry: node --import tsx scripts/demo-keys/main.ts [--out DIR] [MODEL_DIR…]
// Each MODEL_DIR holds bundle.json, model.onnx, profile.json and evidence.json (default: the reference
// models). Writes DIR/keys (DEMO keys), DIR/trust.cbor and DIR/<family>.vbundle.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDemoBundles, referenceModel } from './demo-bundles.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const outDir = outAt >= 0 ? (args[outAt + 1] ?? '') : path.join(root, '.vigil', 'demo');
const dirs = args.filter((_, i) => i !== outAt && i !== outAt + 1);
const modelDirs =
  dirs.length > 0
    ? dirs
    : ['fall-detector', 'af-screener'].map((m) => path.join(root, 'models/reference', m));

const result = await makeDemoBundles({ outDir, models: modelDirs.map(referenceModel), nowMs: Date.now() });
process.stdout.write(
  `DEMO keys (not for clinical use): ${result.keysDir}\ntrust document: ${result.trustPath}\n` +
    result.bundles.map((b) => `bundle ${b.bundleId}: ${b.path}\n`).join(''),
);
