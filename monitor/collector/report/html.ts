// The surveillance report as one self-contained HTML page (inline CSS and SVG, no script, no external
// resource), written for three readers at once: a QA lead (what ran, where, what was done about it), a
// clinician (does it still find what it should, how often does it alarm) and a regulator (method,
// evidence, completeness). Print-ready: `vigil report --pdf` prints this page with headless Chromium.
import { COLORS, barChartSvg, escapeXml as esc, lineChartSvg, reliabilitySvg } from './svg.ts';
import type { RoleSection, SurveillanceReport, VersionSection } from './surveillance.ts';

const CSS = `
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;max-width:960px;margin:2rem auto;padding:0 1rem;font-size:13px;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:2px solid #1f2328;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}h4{font-size:.9rem;margin:.8rem 0 .3rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0 .8rem}th,td{border-bottom:1px solid #d1d9e0;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#59636e}
.summary{background:#f6f8fa;border-left:4px solid #1f6feb;padding:.5rem 1rem}.summary li{margin:.2rem 0}
.bad{color:#d1242f;font-weight:600}.ok{color:#1a7f37}code{font-size:.85em;word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:.5rem}svg{max-width:100%;height:auto}
section.version{page-break-before:always}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
@media print{body{margin:0;max-width:none}a{color:inherit}}
`;

function t(ms: number | null | undefined): string {
  return ms === null || ms === undefined
    ? '—'
    : new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

function n(x: number | null | undefined, digits = 0): string {
  return x === null || x === undefined
    ? '—'
    : x.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function p(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined ? '—' : `${(x * 100).toFixed(digits)} %`;
}

function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly number[] = [],
): string {
  if (rows.length === 0) return '<p class="muted">None in this period.</p>';
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="n"' : ''}>${esc(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function driftCharts(r: RoleSection): string {
  const d = r.drift;
  if (!d.hasProfile || d.variables.length === 0)
    return '<p class="muted">No reference profile: drift not evaluated.</p>';
  // The variables with findings first, then the largest PSI: at most six charts.
  const ranked = [...d.variables]
    .map((v) => {
      let findings = 0;
      let max = 0;
      for (const s of Object.values(v.series)) {
        findings += s.finding.filter(Boolean).length;
        for (const x of s.psi) if (x !== null && x > max) max = x;
      }
      return { v, findings, max };
    })
    .sort((a, b) => b.findings - a.findings || b.max - a.max)
    .slice(0, 6);
  return `<div class="charts">${ranked
    .map(({ v }) => {
      const series = d.groups.flatMap((g, i) => {
        const s = v.series[g];
        if (s === undefined) return [];
        const color = COLORS[i % COLORS.length] ?? '#000';
        return [
          { label: g || '(none)', values: s.psi, color, width: 2 },
          { label: `${g || '(none)'} threshold`, values: s.threshold, color, dash: true, width: 1 },
        ];
      });
      return lineChartSvg({
        title: `${v.name}: PSI against the reference (dashed: n-aware threshold)`,
        xs: d.times,
        series: [
          ...series,
          { label: 'effect floor', values: d.times.map(() => d.minPsi), color: '#8c959f', dash: true },
        ],
        log: true,
        yLabel: 'PSI',
        stepMs: d.stepMs,
      });
    })
    .join('')}</div>`;
}

function roleSection(r: RoleSection, groupBy: string): string {
  const perf = r.performance;
  const o = perf.overall;
  const ops = r.operations;
  const est = (e: { value: number | null; lower: number | null; upper: number | null; n: number }) =>
    e.value === null ? '—' : `${p(e.value)} (${p(e.lower)}–${p(e.upper)}), n = ${n(e.n)}`;
  const reasons = Object.entries(ops.overall.reasons).sort((a, b) => b[1] - a[1]);
  const parts = [
    `<h3>${r.role === 'active' ? 'Active model (its results reached the clinicians)' : 'Shadow candidate (results not used)'}</h3>`,
    `<dl><dt>Devices</dt><dd>${n(r.usage.devices)}</dd><dt>Hours of use</dt><dd>${n(r.usage.hours)} (${n(r.usage.deviceDays, 1)} device-days)</dd>` +
      `<dt>Reports / windows</dt><dd>${n(r.usage.reports)} / ${n(r.usage.windows)}</dd>` +
      `<dt>${esc(groupBy === 'cohort' ? 'Cohorts' : 'Groups')}</dt><dd>${esc(r.usage.cohorts.map((c) => c || '(none)').join(', ') || '—')}</dd>` +
      `<dt>Sites</dt><dd>${esc(r.usage.sites.join(', ') || '—')}</dd></dl>`,
    '<h4>Drift findings</h4>',
    '<p class="muted">A point is a finding when the two-sample test against the reference is significant after false-discovery control, a policy statistic exceeds its sample-size-aware threshold, and PSI reaches the effect floor. Alerts need consecutive findings (see Method).</p>',
    table(
      [groupBy, 'variable', 'points with a finding', 'largest PSI', 'threshold (last point)'],
      r.findings
        .slice(0, 40)
        .map((f) => [
          esc(f.group || '(none)'),
          esc(f.variable),
          `${f.pointsWithFinding} of ${f.points}`,
          n(f.maxPsi, 3),
          n(f.lastThreshold, 4),
        ]),
      [2, 3, 4],
    ),
    driftCharts(r),
    '<h4>Performance and calibration</h4>',
    table(
      ['measure', 'value (95 % CI)', 'what it means'],
      [
        ['Sensitivity', esc(est(o.sensitivity)), 'share of confirmed positive windows the model flagged'],
        [
          'Specificity',
          esc(est(o.specificity)),
          'share of confirmed negative windows the model did not flag',
        ],
        [
          'Observed / expected',
          o.observedExpected
            ? `${n(o.observedExpected.ratio, 2)} (${n(o.observedExpected.lower, 2)}–${n(o.observedExpected.upper, 2)})`
            : '—',
          '1 means the predicted probabilities match how often the condition was confirmed',
        ],
        [
          'ECE',
          `${n(o.ece, 4)}${perf.referenceEce === null ? '' : ` (reference ${n(perf.referenceEce, 4)})`}`,
          'average gap between predicted and observed rates',
        ],
        [
          'CBPE sensitivity / specificity',
          o.cbpe ? `${p(o.cbpe.sensitivity)} / ${p(o.cbpe.specificity)}` : '—',
          'label-free estimate from all scored windows; valid only while the model stays calibrated',
        ],
        [
          'Labelled windows',
          n(o.labelled),
          `${n(o.lateLabels)} labels arrived late; ${n(o.unscoredLabels)} concerned fallback results`,
        ],
      ],
    ),
    `<div class="charts">${reliabilitySvg({ title: 'Reliability diagram', points: o.reliability })}${lineChartSvg(
      {
        title: 'Sensitivity and specificity over time (dashed: CBPE)',
        xs: perf.series.map((s) => s.t),
        series: [
          { label: 'sensitivity', values: perf.series.map((s) => s.sensitivity), color: COLORS[0] },
          { label: 'specificity', values: perf.series.map((s) => s.specificity), color: COLORS[2] },
          {
            label: 'CBPE sensitivity',
            values: perf.series.map((s) => s.cbpeSensitivity),
            color: COLORS[0],
            dash: true,
          },
          {
            label: 'CBPE specificity',
            values: perf.series.map((s) => s.cbpeSpecificity),
            color: COLORS[2],
            dash: true,
          },
        ],
        yMin: 0,
        yMax: 1,
        stepMs: perf.stepMs,
      },
    )}</div>`,
    '<h4>Fallbacks</h4>',
    `<p>${p(ops.overall.fallbackRate)} of windows were answered by the declared safe fallback (quality failures ${p(ops.overall.qualityFailureRate)}).</p>`,
    table(
      ['reason', 'windows'],
      reasons.map(([k, v]) => [esc(k), n(v)]),
      [1],
    ),
    `<div class="charts">${lineChartSvg({
      title: 'Fallback rate over time',
      xs: ops.series.map((s) => s.t),
      series: [
        { label: 'fallback rate', values: ops.series.map((s) => s.fallbackRate), color: COLORS[1] },
        { label: 'quality failures', values: ops.series.map((s) => s.qualityFailureRate), color: COLORS[3] },
      ],
      stepMs: ops.stepMs,
    })}${barChartSvg({
      title: 'Fallback windows by reason',
      labels: reasons.map(([k]) => k),
      series: [{ label: 'windows', values: reasons.map(([, v]) => v), color: COLORS[1] }],
    })}</div>`,
    '<h4>Alert burden</h4>',
    `<p>${n(ops.overall.alertsPerDeviceDay, 2)} clinical alerts per device-day (model ${n(ops.overall.alerts.model)}, fallback rule ${n(ops.overall.alerts.fallbackRule)}; signal-quality notices ${n(ops.overall.alerts.quality)}). Latency p50 ${n(ops.overall.latencyMs.p50, 2)} ms, p99 ${n(ops.overall.latencyMs.p99, 2)} ms.</p>`,
    lineChartSvg({
      title: 'Clinical alerts per device-day',
      xs: ops.series.map((s) => s.t),
      series: [
        {
          label: 'alerts per device-day',
          values: ops.series.map((s) => s.alertsPerDeviceDay),
          color: COLORS[4],
        },
      ],
      stepMs: ops.stepMs,
    }),
  ];
  if (ops.overall.shadow.length > 0) {
    parts.push(
      '<h4>Shadow candidates</h4>',
      table(
        ['candidate', 'paired windows', 'agreement (95 % CI)', 'candidate fallback rate'],
        ops.overall.shadow.map((s) => [
          esc(s.candidateBundleId),
          n(s.pairs),
          s.agreement.value === null
            ? '—'
            : `${p(s.agreement.value, 2)} (${p(s.agreement.lower, 2)}–${p(s.agreement.upper, 2)})`,
          p(s.candidateFallbackRate, 2),
        ]),
        [1],
      ),
    );
  }
  return parts.join('\n');
}

function versionSection(v: VersionSection, groupBy: string): string {
  const m = v.model;
  const alerts = v.alerts.map((a) => {
    const last = a.evidence.windows[a.evidence.windows.length - 1];
    const who = [
      a.acknowledged
        ? `acknowledged ${t(a.acknowledged.atMs)} by ${esc(a.acknowledged.by)}: “${esc(a.acknowledged.comment)}”`
        : '',
      a.resolved
        ? `resolved ${t(a.resolved.atMs)} by ${esc(a.resolved.by)}: “${esc(a.resolved.comment)}”`
        : '',
    ]
      .filter((x) => x !== '')
      .join('<br>');
    return [
      `#${a.id}`,
      a.state === 'resolved' ? `<span class="ok">resolved</span>` : `<span class="bad">${a.state}</span>`,
      `${esc(a.groupDimension)} ${esc(a.groupValue || '(none)')}${a.role === 'shadow' ? ' (shadow)' : ''}`,
      esc(a.variableName),
      `${t(a.firstWindowMs)} →<br>${t(last?.endMs)}`,
      last
        ? `PSI ${n(last.statistics.psi ?? null, 3)} vs threshold ${n(last.thresholds.psi ?? null, 4)}, q = ${last.qValue.toExponential(1)}, n = ${n(last.n)}; ` +
          `devices: ${esc(
            a.evidence.devices
              .slice(0, 5)
              .map((d) => d.device)
              .join(', '),
          )}`
        : '—',
      who || '<span class="muted">not yet acknowledged</span>',
    ];
  });
  const incidents = v.incidents.map((i) => [
    t(i.atMs),
    esc(i.device),
    esc(i.kind),
    esc(i.source),
    esc(i.summary),
  ]);
  return `<section class="version">
<h2>${esc(m.label)} <span class="muted">(${esc(m.bundleId)})</span></h2>
<dl><dt>Manifest SHA-256</dt><dd><code>${esc(m.manifestSha256)}</code></dd><dt>Profile SHA-256</dt><dd><code>${esc(m.profileSha256)}</code></dd>
<dt>Release sequence</dt><dd>${m.sequence}</dd><dt>Known to the collector from</dt><dd>${esc(m.source === 'bundle' ? 'the verified bundle' : m.source === 'profile' ? 'a registered profile file' : 'device reports only')}${m.verification ? ` — ${esc(m.verification)}` : ''}</dd>
${m.intendedUse ? `<dt>Intended use</dt><dd>${esc(m.intendedUse)}</dd>` : ''}</dl>
<h3>Summary</h3><ul class="summary">${v.summary.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>
${v.roles.map((r) => roleSection(r, groupBy)).join('\n')}
<h3>Drift alerts (open and resolved)</h3>
${table(['#', 'state', 'group', 'variable', 'windows', 'evidence', 'who did what'], alerts)}
<h3>Incidents</h3>
<p class="muted">Rollbacks, freezes, revocations and integrity events reported by devices (signed), and what the collector inferred from reports (a lower release sequence after a higher one, suppressed outputs, revoked-model fallbacks, audit-chain findings).</p>
${table(['when', 'device', 'kind', 'source', 'what happened'], incidents)}
</section>`;
}

export function renderSurveillanceHtml(report: SurveillanceReport, groupBy = 'cohort'): string {
  const q = report.query;
  const dq = report.dataQuality;
  const rejected = Object.entries(dq.rejected).filter(([, v]) => v > 0);
  const totalRejected = rejected.reduce((s, [, v]) => s + v, 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Post-market surveillance report: ${esc(q.model)}</title><style>${CSS}</style></head>
<body>
<h1>Post-market surveillance report: ${esc(q.model)}${q.version ? ` ${esc(q.version)}` : ''}</h1>
<p class="muted">Period ${t(q.fromMs)} – ${t(q.toMs)} · fleet ${esc(report.fleet ?? 'all')} · generated ${t(report.generatedMs)} by the Vigil fleet collector · ${report.versions.length} model version${report.versions.length === 1 ? '' : 's'}</p>
<h2>How to read this report</h2>
<p>Each device runs the approved model and sends signed hourly summaries: counts of its input features in the reference bins shipped with the release, its output scores, labelled outcomes when they arrive, its safe fallbacks and its alerts. No patient data leaves the device. The collector verifies every summary against the device's enrolled key and combines them. <b>Drift</b> means the input data no longer look like the data the model was validated on; it does not by itself mean the model is wrong, but it means the validation evidence may no longer apply. <b>Sensitivity</b> and <b>specificity</b> come only from windows with a confirmed outcome. The <b>alert burden</b> is how often clinicians were alerted.</p>
<h2>Data completeness</h2>
<table><tbody>
<tr><td>Messages received</td><td class="n">${n(dq.received)}</td></tr>
<tr><td>Rejected (unsigned, mis-signed, malformed, unknown or retired device)</td><td class="n">${n(totalRejected)}</td></tr>
<tr><td>Duplicates (redeliveries, ignored)</td><td class="n">${n(dq.duplicates)}</td></tr>
<tr><td>Sequence gaps: pending / late / explained by device evictions / lost</td><td class="n">${n(dq.gaps.pending)} / ${n(dq.gaps.late)} / ${n(dq.gaps.evicted)} / ${n(dq.gaps.lost)}</td></tr>
<tr><td>Audit-chain findings</td><td class="n">${n(dq.auditFindings)}</td></tr>
</tbody></table>
${
  rejected.length > 0
    ? table(
        ['rejection code', 'messages'],
        rejected.map(([k, v]) => [esc(k), n(v)]),
        [1],
      )
    : ''
}
${report.versions.map((v) => versionSection(v, groupBy)).join('\n')}
<section class="version"><h2>Method</h2>
<p><b>Alert rule.</b> ${esc(report.rule)}</p>
<p><b>Why thresholds depend on the amount of data.</b> With few windows, random variation alone moves the statistics a lot; with many, even tiny shifts are detectable. Each threshold therefore comes from the release's own null tables (Monte-Carlo, calibrated when the bundle was built) at the effective sample size n·N/(n+N), where N is the size of the reference sample: the reference proportions are themselves estimates, which a fixed cut-off such as "PSI &gt; 0.1" ignores. Testing many variables and groups at once would raise false alarms, so the p-values of each window are controlled for the false-discovery rate (Benjamini–Hochberg).</p>
<p><b>Performance.</b> Sensitivity and specificity at the released operating threshold with Wilson 95 % intervals; observed/expected with an exact Poisson interval; ECE over the release's score bins. CBPE (confidence-based performance estimation) assumes the model is calibrated on current data and cannot see a change in the relation between inputs and outcomes.</p>
<p><b>Evidence.</b> Every number traces to signed device reports kept by the collector (device, sequence number, interval); each alert lists its windows, statistics, thresholds, q-values, devices and the bundle (manifest and profile SHA-256).</p>
</section>
</body></html>
`;
}
