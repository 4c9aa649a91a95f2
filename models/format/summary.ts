// `vigil bundle inspect`: a one-page, plain-language account of a bundle that a QA lead, a clinician
// and a regulator can each read — intended use, what changed since the previous bundle, behaviour,
// evidence against acceptance criteria, approvals, hashes — plus the same content as JSON.
import type { Approval } from './approval.ts';
import type { BundleInfo } from './bundle.ts';
import type { FallbackPolicy, Manifest, RuleExpr } from './manifest.ts';

export type VerificationStatus =
  | { readonly status: 'unchecked' }
  | {
      readonly status: 'verified';
      readonly trustVersion: number;
      readonly stage: string;
      readonly checksSkipped: readonly string[];
    }
  | { readonly status: 'rejected'; readonly code: string; readonly message: string };

export type ChangeArea =
  'release' | 'clinical behaviour' | 'model' | 'evidence' | 'monitoring and rollout' | 'files';

export interface Change {
  readonly area: ChangeArea;
  readonly field: string;
  readonly before: string;
  readonly after: string;
}

export interface ApprovalLine {
  readonly role: string;
  readonly reviewer: string;
  readonly kid: string;
  readonly at: string;
  readonly scope: string | null;
}

export interface BundleSummary {
  readonly bundleId: string;
  readonly modelFamily: string;
  readonly version: string;
  readonly sequence: number;
  readonly manifestSha256: string;
  readonly verification: VerificationStatus;
  readonly intendedUse: string;
  readonly releaseNotes: string | null;
  readonly devices: readonly string[];
  readonly runtime: string;
  readonly validFrom: string;
  readonly validUntil: string;
  readonly input: string;
  readonly behaviour: readonly string[];
  readonly evidence: {
    readonly headline: string;
    readonly criteria: readonly { readonly text: string; readonly passed: boolean }[];
    readonly cohorts: readonly string[];
    readonly allPassed: boolean;
  };
  readonly approvals: readonly ApprovalLine[];
  readonly provenance: string;
  readonly files: readonly { readonly path: string; readonly size: number; readonly sha256: string }[];
  /** Null when no previous bundle was given. */
  readonly changes: { readonly since: string; readonly items: readonly Change[] } | null;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z');
const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
/** Plain numbers: integers as they are, small values with two significant digits, others to 3 decimals. */
const num = (x: number): string => {
  if (Number.isInteger(x)) return String(x);
  if (Math.abs(x) < 0.01) return String(Number(x.toPrecision(2)));
  return x.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
};

function ruleText(rule: RuleExpr): string {
  switch (rule.op) {
    case 'feature':
      return rule.name;
    case 'const':
      return num(rule.value);
    case 'gt':
      return `${ruleText(rule.left)} > ${ruleText(rule.right)}`;
    case 'ge':
      return `${ruleText(rule.left)} ≥ ${ruleText(rule.right)}`;
    case 'lt':
      return `${ruleText(rule.left)} < ${ruleText(rule.right)}`;
    case 'le':
      return `${ruleText(rule.left)} ≤ ${ruleText(rule.right)}`;
    case 'and':
      return rule.args.map((a) => `(${ruleText(a)})`).join(' and ');
    case 'or':
      return rule.args.map((a) => `(${ruleText(a)})`).join(' or ');
    case 'not':
      return `not (${ruleText(rule.arg)})`;
  }
}

function fallbackText(f: FallbackPolicy): string {
  switch (f.kind) {
    case 'suppress':
      return `no output is given (suppressed) — fallback v${f.version}`;
    case 'alert':
      return `a clinician is alerted: "${f.message}" — fallback v${f.version}`;
    case 'rule':
      return `a fixed rule decides: "${f.positiveLabel}" when ${ruleText(f.rule)} — fallback v${f.version}`;
  }
}

const SENSORS: Readonly<Record<Manifest['input']['sensor'], string>> = {
  accel: 'accelerometer',
  ecg: 'ECG',
  ppg: 'PPG',
};

function behaviour(m: Manifest): string[] {
  const t = m.thresholds;
  const p = m.postprocessing;
  const q = m.quality;
  return [
    `"${m.output.positive.name}" (${m.output.positive.meaning}) when the score is ≥ ${num(t.operatingThreshold)}; ` +
      `indeterminate from ${num(t.indeterminateLow)}; clears below ${num(t.releaseThreshold)} (thresholds v${t.version}).`,
    `An alert needs ${p.consecutiveWindows} positive window${p.consecutiveWindows === 1 ? '' : 's'} in a row, then none for ` +
      `${num(p.refractoryMs / 1000)} s (post-processing v${p.version}).`,
    `Preprocessing: ${m.preprocessing.map((s) => `${s.op}@${s.version}`).join(' → ') || 'none'}; ` +
      `${m.model.featureNames.length} features into the model.`,
    `Windows are refused when > ${pct(q.maxMissingFraction)} samples are missing, > ${pct(q.maxClippedFraction)} clipped, ` +
      `a channel is flat, timing jitters > ${pct(q.maxRateJitterRel)}` +
      (q.rejectFlags.length > 0 ? `, or flags ${q.rejectFlags.join('/')} are set` : '') +
      (q.sqi.length > 0
        ? `, or quality indices ${q.sqi.map((s) => s.name).join(', ')} fall outside bounds`
        : '') +
      `${q.motionGateG === null ? '' : `, or motion exceeds ${num(q.motionGateG)} g`} (quality v${q.version}).`,
    `Inputs unlike the training data (> ${pct(m.ood.maxFeaturesOutsideSupport)} features outside the reference range, ` +
      `or distance > ${num(m.ood.maxDistance)} SD) are treated as untrustworthy (OOD v${m.ood.version}).`,
    `When the model must not be trusted, ${fallbackText(m.fallback)}.`,
    `Rollout: shadow for ≥ ${m.rollout.shadowMinWindows} windows with ≥ ${pct(m.rollout.shadowMinAgreement)} agreement; ` +
      `${m.rollout.autoPromote ? 'promoted automatically' : 'promoted by a signed command'}; probation ${m.rollout.probation.windows} windows.`,
    `Monitoring: ${m.monitoring.statistics.join(', ')} every ${num(m.monitoring.reportIntervalS)} s (α = ${num(m.monitoring.alpha)}); ` +
      `on drift: ${m.monitoring.onDrift} — never a model change.`,
  ];
}

function short(value: unknown): string {
  if (value === undefined) return '—';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

const AREAS: Readonly<Record<string, ChangeArea>> = {
  thresholds: 'clinical behaviour',
  postprocessing: 'clinical behaviour',
  preprocessing: 'clinical behaviour',
  fallback: 'clinical behaviour',
  quality: 'clinical behaviour',
  ood: 'clinical behaviour',
  input: 'clinical behaviour',
  output: 'clinical behaviour',
  intendedUse: 'clinical behaviour',
  model: 'model',
  evidence: 'evidence',
  monitoring: 'monitoring and rollout',
  rollout: 'monitoring and rollout',
};

const IGNORED = new Set(['files', 'createdAtMs', 'expiresAtMs', 'releaseNotes']);

function diffValues(before: unknown, after: unknown, field: string, out: Change[]): void {
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  const area = AREAS[field.split(/[.[]/)[0] ?? ''] ?? 'release';
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      diffValues(before[key], after[key], field === '' ? key : `${field}.${key}`, out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && field !== 'model.featureNames') {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) diffValues(before[i] as unknown, after[i] as unknown, `${field}[${i}]`, out);
    return;
  }
  out.push({ area, field, before: short(before), after: short(after) });
}

/** What changed from `previous` to `current`, grouped by what it affects. */
export function diffManifests(previous: Manifest, current: Manifest): Change[] {
  const out: Change[] = [];
  const strip = (m: Manifest): Record<string, unknown> =>
    Object.fromEntries(Object.entries(m).filter(([k]) => !IGNORED.has(k)));
  diffValues(strip(previous), strip(current), '', out);
  const before = new Map(previous.files.map((f) => [f.path, f]));
  const after = new Map(current.files.map((f) => [f.path, f]));
  for (const path of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(path);
    const a = after.get(path);
    if (b?.sha256 === a?.sha256) continue;
    out.push({
      area: path === current.model.file ? 'model' : 'files',
      field: `${path} SHA-256`,
      before: b === undefined ? 'absent' : `${b.sha256.slice(0, 16)}…`,
      after: a === undefined ? 'removed' : `${a.sha256.slice(0, 16)}…`,
    });
  }
  const order: ChangeArea[] = [
    'clinical behaviour',
    'model',
    'evidence',
    'monitoring and rollout',
    'files',
    'release',
  ];
  return out.sort((x, y) => order.indexOf(x.area) - order.indexOf(y.area));
}

function approvalLine(a: Approval): ApprovalLine {
  return { role: a.role, reviewer: a.reviewer, kid: a.kid, at: iso(a.timeMs), scope: a.scope };
}

export function summarizeBundle(
  info: BundleInfo,
  options: { readonly previous?: BundleInfo; readonly verification?: VerificationStatus } = {},
): BundleSummary {
  const m = info.manifest;
  const e = m.evidence;
  const metrics = (s: {
    n: number;
    sensitivity: number;
    specificity: number;
    rocAuc: number;
    ece: number;
  }): string =>
    `n=${s.n}, sensitivity ${num(s.sensitivity)}, specificity ${num(s.specificity)}, ROC AUC ${num(s.rocAuc)}, ECE ${num(s.ece)}`;
  const channels = m.input.channels.map((c) => `${c.name} in ${c.unit}`).join(', ');
  const prev = options.previous?.manifest;
  return {
    bundleId: m.bundleId,
    modelFamily: m.modelFamily,
    version: m.version,
    sequence: m.sequence,
    manifestSha256: info.manifestSha256,
    verification: options.verification ?? { status: 'unchecked' },
    intendedUse: m.intendedUse,
    releaseNotes: m.releaseNotes ?? null,
    devices: m.deviceClasses.map((c) => `${c.vendorId}/${c.classId}`),
    runtime: `≥ ${m.runtime.minVersion}${m.runtime.maxVersionExclusive === null ? '' : ` and < ${m.runtime.maxVersionExclusive}`}`,
    validFrom: iso(m.createdAtMs),
    validUntil: iso(m.expiresAtMs),
    input:
      `${SENSORS[m.input.sensor]}, ${m.input.channels.length} channel${m.input.channels.length === 1 ? '' : 's'} (${channels}), ` +
      `${num(m.input.sampleRateHz)} Hz, ${num(m.input.windowS)} s windows every ${num(m.input.hopS)} s`,
    behaviour: behaviour(m),
    evidence: {
      headline: `Test set: ${metrics(e.testSet)}`,
      criteria: e.acceptance.map((c) => ({
        text: `${c.metric} ${c.comparator === '>=' ? '≥' : '≤'} ${num(c.threshold)} (observed ${num(c.observed)})`,
        passed: c.passed,
      })),
      cohorts: e.perCohort.map((c) => `${c.cohort}: ${metrics(c)}`),
      allPassed: e.allPassed,
    },
    approvals: info.approvals.map(approvalLine),
    provenance:
      `commit ${m.provenance.sourceCommit.slice(0, 12)}, training run ${m.provenance.trainingRunId}, ` +
      `dataset ${m.provenance.datasetSnapshotSha256.slice(0, 12)}…, split ${m.provenance.splitKey}, ` +
      `lock ${m.provenance.dependencyLockSha256.slice(0, 12)}…, seed ${m.provenance.seed}`,
    files: m.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
    changes:
      prev === undefined
        ? null
        : { since: `${prev.bundleId} (sequence ${prev.sequence})`, items: diffManifests(prev, m) },
  };
}

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line.length > 0 && line.length + word.length + 1 > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line.length === 0 ? word : `${line} ${word}`;
    }
  }
  if (line.length > 0) lines.push(indent + line);
  return lines;
}

function statusLine(v: VerificationStatus): string {
  switch (v.status) {
    case 'unchecked':
      return 'Status: NOT VERIFIED here (give --trust to check signatures, approvals and files)';
    case 'verified':
      return (
        `Status: VERIFIED against trust version ${v.trustVersion} for ${v.stage} deployment` +
        (v.checksSkipped.length > 0 ? ` (device checks not made: ${v.checksSkipped.join(', ')})` : '')
      );
    case 'rejected':
      return `Status: REJECTED — ${v.code}: ${v.message}`;
  }
}

/** The one-page plain-text rendering. */
export function renderSummary(s: BundleSummary, width = 100): string {
  const out: string[] = [];
  out.push(`${s.bundleId} — ${s.modelFamily} ${s.version}, sequence ${s.sequence}`);
  out.push(statusLine(s.verification));
  out.push('');
  out.push('Intended use');
  out.push(...wrap(s.intendedUse, width - 2, '  '));
  out.push(
    `  Devices ${s.devices.join(', ')} · runtime ${s.runtime} · valid ${s.validFrom} → ${s.validUntil}`,
  );
  out.push(`  Input: ${s.input}`);
  if (s.releaseNotes !== null) out.push(...wrap(`Notes: ${s.releaseNotes}`, width - 2, '  '));
  if (s.changes !== null) {
    out.push('');
    out.push(`What changed since ${s.changes.since}`);
    if (s.changes.items.length === 0) out.push('  nothing that shapes behaviour');
    let area = '';
    for (const c of s.changes.items) {
      if (c.area !== area) {
        area = c.area;
        out.push(`  ${area[0]?.toUpperCase() ?? ''}${area.slice(1)}`);
      }
      out.push(`    ${c.field}: ${c.before} → ${c.after}`);
    }
  }
  out.push('');
  out.push('How it behaves');
  for (const line of s.behaviour)
    out.push(...wrap(`• ${line}`, width - 2, '  ').map((l, i) => (i === 0 ? l : `  ${l}`)));
  out.push('');
  out.push(
    `Evidence — ${s.evidence.allPassed ? 'all acceptance criteria passed' : 'NOT ALL ACCEPTANCE CRITERIA PASSED'}`,
  );
  out.push(`  ${s.evidence.headline}`);
  for (const c of s.evidence.criteria) out.push(`  ${c.passed ? '✓' : '✗'} ${c.text}`);
  for (const c of s.evidence.cohorts) out.push(`  cohort ${c}`);
  out.push('');
  out.push('Approvals');
  if (s.approvals.length === 0) out.push('  none');
  const width1 = Math.max(4, ...s.approvals.map((a) => a.role.length));
  const width2 = Math.max(8, ...s.approvals.map((a) => a.reviewer.length));
  for (const a of s.approvals) {
    out.push(
      `  ${a.role.padEnd(width1)}  ${a.reviewer.padEnd(width2)}  ${a.at}  scope ${(a.scope ?? '—').padEnd(6)}  key ${a.kid}`,
    );
  }
  out.push('');
  out.push(`Provenance: ${s.provenance}`);
  out.push('Hashes (SHA-256)');
  out.push(`  manifest  ${s.manifestSha256}`);
  for (const f of s.files) out.push(`  ${f.path}  ${f.sha256}  ${f.size} bytes`);
  return `${out.join('\n')}\n`;
}
