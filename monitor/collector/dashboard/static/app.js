// The collector dashboard: plain ES module, no build step. Reads the JSON API (/api/v1) and draws with
// uPlot (charts.js). Everything a device sent is shown through textContent, never as HTML.
import { PALETTE, barChart, lineChart, reliabilityChart } from './charts.js';

const state = {
  view: 'overview',
  model: null,
  role: 'active',
  variable: 0,
  groupBy: 'cohort',
  distGroup: '',
  models: [],
};

function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, options = {}) {
  const res = await fetch(`/api/v1/${path}`, options);
  const body = await res.json();
  if (!res.ok) throw new Error(`${body.error?.code ?? res.status}: ${body.error?.message ?? ''}`);
  return body;
}

// The period ends now, or at the newest data when device clocks run ahead (the API decides `to`).
function range() {
  const span = Number(document.getElementById('range').value);
  return { from: Math.max(0, Date.now() - span), to: undefined, span };
}

function qs(params) {
  return new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''),
  ).toString();
}

const fmt = {
  n: (v) => (v === null || v === undefined ? '—' : Number(v).toLocaleString('en')),
  p: (v, d = 1) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(d)} %`),
  x: (v, d = 3) => (v === null || v === undefined ? '—' : Number(v).toFixed(d)),
  t: (ms) =>
    ms === null || ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z',
  ago: (ms) => {
    if (ms === null || ms === undefined) return '—';
    const s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 90) return `${Math.round(s)} s ago`;
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    if (s < 172800) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  },
  short: (sha) => (sha ? sha.slice(0, 12) : '—'),
  q: (q) => (q === null || q === undefined ? '—' : q < 1e-300 ? '< 1e-300' : Number(q).toExponential(1)),
};

function table(headers, rows, attrs = {}) {
  return h(
    'table',
    attrs,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', { class: x.num ? 'num' : undefined }, x.label ?? x)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.length === 0
        ? h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'nothing to show'))
        : rows,
    ),
  );
}

function card(title, big, ...rest) {
  return h('div', { class: 'card' }, h('h3', {}, title), h('div', { class: 'big' }, big), ...rest);
}

// ---------------------------------------------------------------------------------------------------

async function renderOverview(root) {
  const o = await api('overview');
  document.getElementById('fleet').textContent = o.fleet ? `fleet ${o.fleet}` : 'all fleets';
  const badge = document.getElementById('alert-badge');
  badge.textContent = o.alerts.open > 0 ? String(o.alerts.open) : '';
  const rejectedRows = Object.entries(o.ingest.rejected)
    .filter(([, n]) => n > 0)
    .map(([code, n]) => h('tr', {}, h('td', {}, h('code', {}, code)), h('td', { class: 'num' }, fmt.n(n))));
  root.replaceChildren(
    h(
      'div',
      { class: 'cards' },
      card(
        'Devices',
        fmt.n(o.devices.total),
        h(
          'div',
          {},
          h('span', { class: 'state-online' }, `${o.devices.online} online`),
          ' · ',
          h('span', { class: 'state-offline' }, `${o.devices.offline} offline`),
          ' · ',
          h('span', { class: 'state-silent' }, `${o.devices.silent} silent`),
          ' · ',
          `${o.devices.retired} retired`,
        ),
      ),
      card(
        'Messages received',
        fmt.n(o.ingest.received),
        h(
          'div',
          { class: 'muted' },
          `${fmt.n(o.ingest.accepted.report)} reports accepted · ${fmt.n(o.ingest.duplicates)} duplicates${o.ingest.conflicts > 0 ? ` · ${fmt.n(o.ingest.conflicts)} CONFLICTING (equivocation)` : ''}`,
        ),
      ),
      card(
        'Rejected',
        h(
          'span',
          { class: o.ingest.totalRejected > 0 ? 'bad' : undefined, id: 'rejected-total' },
          fmt.n(o.ingest.totalRejected),
        ),
        h('div', { class: 'muted' }, 'unsigned, mis-signed, malformed or from unknown/retired devices'),
      ),
      card(
        'Sequence gaps',
        fmt.n(o.gaps.pending + o.gaps.lost),
        h(
          'div',
          { class: 'muted' },
          `${o.gaps.pending} pending · ${o.gaps.late} late · ${o.gaps.evicted} evicted · ${o.gaps.lost} lost`,
        ),
      ),
      card(
        'Drift alerts',
        h('span', { class: o.alerts.open > 0 ? 'bad' : undefined }, `${o.alerts.open} open`),
        h('div', { class: 'muted' }, `${o.alerts.acknowledged} acknowledged`),
      ),
      card(
        'Audit-chain findings',
        h('span', { class: o.audit.findings > 0 ? 'bad' : undefined }, fmt.n(o.audit.findings)),
      ),
    ),
    h(
      'div',
      { class: 'panel' },
      h('h2', {}, 'Model versions'),
      table(
        [
          'Model',
          'Bundle',
          'Manifest',
          'Profile',
          { label: 'Devices (7 d)', num: true },
          { label: 'Hours (7 d)', num: true },
          { label: 'Open alerts', num: true },
        ],
        o.models.map((m) =>
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: '#model', onclick: () => selectModel(m.manifestSha256) }, m.label)),
            h('td', {}, m.bundleId),
            h('td', {}, h('code', {}, fmt.short(m.manifestSha256))),
            h('td', {}, m.hasProfile ? 'registered' : h('span', { class: 'bad' }, 'missing')),
            h('td', { class: 'num' }, fmt.n(m.devices7d)),
            h('td', { class: 'num' }, fmt.n(Math.round(m.hours7d))),
            h(
              'td',
              { class: 'num' },
              h('span', { class: m.openAlerts > 0 ? 'bad' : undefined }, fmt.n(m.openAlerts)),
            ),
          ),
        ),
      ),
    ),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Rejections by code'),
        table(['Code', { label: 'Messages', num: true }], rejectedRows, { id: 'rejections' }),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Recent rejections'),
        table(
          ['When', 'Device', 'Code', 'Detail'],
          o.ingest.recentRejections.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, fmt.ago(r.atMs)),
              h('td', {}, r.device ?? '—'),
              h('td', {}, h('code', {}, r.code)),
              h('td', { class: 'muted' }, r.detail),
            ),
          ),
        ),
      ),
    ),
    h('p', { class: 'muted' }, `Alert rule: ${describeRule(o.rule, o.bucketMs)}`),
  );
}

function describeRule(rule, bucketMs) {
  const w =
    bucketMs >= 3_600_000
      ? `${bucketMs / 3_600_000} h`
      : bucketMs >= 60_000
        ? `${bucketMs / 60_000} min`
        : `${bucketMs / 1000} s`;
  return `per model version × ${rule.groupBy} × variable, ${w} windows, ${rule.fdrMethod.toUpperCase()} at q = ${rule.fdr}, PSI ≥ ${rule.minPsi}, ${rule.consecutiveWindows} consecutive windows.`;
}

// ---------------------------------------------------------------------------------------------------

function selectModel(sha) {
  state.model = sha;
  state.variable = 0;
  show('model');
}

async function renderModel(root) {
  state.models = await api('models');
  if (state.models.length === 0) {
    root.replaceChildren(h('p', { class: 'muted' }, 'No model version has reported yet.'));
    return;
  }
  if (!state.models.some((m) => m.manifestSha256 === state.model)) {
    state.model = (state.models.find((m) => m.hasProfile) ?? state.models[0]).manifestSha256;
  }
  const model = state.models.find((m) => m.manifestSha256 === state.model);
  // A candidate that only ever ran in shadow has no active data: show its shadow results.
  const roles = model.roles.length > 0 ? model.roles : ['active'];
  if (!roles.includes(state.role)) state.role = roles.includes('active') ? 'active' : roles[0];
  const r = range();
  const base = { from: r.from, to: r.to, role: state.role };
  const [drift, perf, ops] = await Promise.all([
    api(`models/${model.manifestSha256}/drift?${qs({ ...base, groupBy: state.groupBy })}`),
    api(`models/${model.manifestSha256}/performance?${qs({ ...base, groupBy: state.groupBy })}`),
    api(`models/${model.manifestSha256}/operations?${qs(base)}`),
  ]);
  const modelSelect = h(
    'select',
    { id: 'model-select', onchange: (e) => selectModel(e.target.value) },
    state.models.map((m) =>
      h(
        'option',
        { value: m.manifestSha256, selected: m.manifestSha256 === state.model },
        `${m.label} (${m.bundleId})`,
      ),
    ),
  );
  const groupSelect = h(
    'select',
    { id: 'group-select', onchange: (e) => ((state.groupBy = e.target.value), show('model')) },
    ['cohort', 'firmware', 'site'].map((g) => h('option', { value: g, selected: g === state.groupBy }, g)),
  );
  const variableSelect = h(
    'select',
    {
      id: 'variable-select',
      onchange: (e) => ((state.variable = Number(e.target.value)), renderDistribution(model, base)),
    },
    drift.variables.map((v) => h('option', { value: v.index, selected: v.index === state.variable }, v.name)),
  );
  const distGroupSelect = h(
    'select',
    {
      id: 'dist-group-select',
      onchange: (e) => ((state.distGroup = e.target.value), renderDistribution(model, base)),
    },
    h('option', { value: '' }, 'all'),
    drift.groups.map((g) => h('option', { value: g, selected: g === state.distGroup }, g || '(none)')),
  );
  const driftGrid = h('div', { class: 'grid', id: 'drift-grid' });
  root.replaceChildren(
    h(
      'div',
      { class: 'controls' },
      h('label', {}, 'Model version ', modelSelect),
      h('label', {}, 'Group by ', groupSelect),
      h(
        'label',
        {},
        'Role ',
        h(
          'select',
          { id: 'role-select', onchange: (e) => ((state.role = e.target.value), show('model')) },
          roles.map((x) =>
            h(
              'option',
              { value: x, selected: x === state.role },
              x === 'active' ? 'active (results used)' : 'shadow (candidate)',
            ),
          ),
        ),
      ),
      h(
        'span',
        { class: 'muted' },
        `manifest ${fmt.short(model.manifestSha256)} · profile ${fmt.short(model.profileSha256)} · ${drift.resolution === 'day' ? 'daily' : 'per window'} points`,
      ),
    ),
    model.hasProfile
      ? ''
      : h(
          'p',
          { class: 'error' },
          'The reference profile of this model version is not registered: drift cannot be evaluated (vigil collector profile add).',
        ),
    h(
      'div',
      { class: 'panel' },
      h('h2', {}, 'Drift over time: PSI of each group against the reference profile'),
      h(
        'div',
        { class: 'legend', id: 'drift-legend' },
        drift.groups.map((g, i) =>
          h(
            'span',
            {},
            h('i', { class: 'swatch', dataset: { color: PALETTE[i % PALETTE.length] } }),
            `${state.groupBy} ${g || '(none)'}`,
          ),
        ),
        h(
          'span',
          { class: 'muted' },
          'solid: PSI · dashed: sample-size-aware threshold at each point · grey dotted: effect-size floor · log scale',
        ),
      ),
      driftGrid,
    ),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Current vs reference distribution'),
        h(
          'div',
          { class: 'controls' },
          h('label', {}, 'Variable ', variableSelect),
          h('label', {}, `${state.groupBy} `, distGroupSelect),
        ),
        h('div', { class: 'chart', id: 'chart-distribution' }),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Reliability (labelled outcomes)'),
        h('div', { class: 'chart', id: 'chart-reliability' }),
        perfSummary(perf),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Performance over time'),
        h('div', { class: 'chart', id: 'chart-performance' }),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Fallbacks'),
        h('div', { class: 'chart', id: 'chart-fallback' }),
        h('div', { class: 'chart', id: 'chart-reasons' }),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Alert burden'),
        h('div', { class: 'chart', id: 'chart-burden' }),
      ),
      h('div', { class: 'panel' }, h('h2', {}, 'Latency'), h('div', { class: 'chart', id: 'chart-latency' })),
    ),
    h(
      'div',
      { class: 'panel' },
      h('h2', {}, 'Shadow candidates (agreement with the active model)'),
      shadowTable(ops.overall.shadow),
    ),
  );

  for (const v of drift.variables) {
    const el = h('div', { class: 'chart' });
    driftGrid.append(el);
    const series = [];
    drift.groups.forEach((g, i) => {
      const s = v.series[g];
      const color = PALETTE[i % PALETTE.length];
      series.push({ label: `${g || '(none)'} PSI`, values: s.psi, color, width: 2 });
      series.push({
        label: `${g || '(none)'} threshold`,
        values: s.threshold,
        color,
        dash: [5, 4],
        width: 1,
      });
    });
    series.push({
      label: 'floor',
      values: drift.times.map(() => drift.minPsi),
      color: '#8c959f',
      dash: [2, 3],
      width: 1,
    });
    lineChart(el, {
      name: `drift-${v.index}`,
      title: v.name,
      xs: drift.times,
      series,
      yLog: true,
      yLabel: 'PSI',
      height: 180,
      legend: false,
    });
  }
  for (const sw of document.querySelectorAll('#drift-legend .swatch')) sw.style.background = sw.dataset.color;
  await renderDistribution(model, base);
  reliabilityChart(document.getElementById('chart-reliability'), {
    name: 'reliability',
    title: '',
    points: perf.overall.reliability,
  });
  lineChart(document.getElementById('chart-performance'), {
    name: 'performance',
    xs: perf.series.map((s) => s.t),
    yRange: [0, 1],
    series: [
      { label: 'sensitivity', values: perf.series.map((s) => s.sensitivity), color: PALETTE[0], width: 2 },
      { label: 'specificity', values: perf.series.map((s) => s.specificity), color: PALETTE[2], width: 2 },
      {
        label: 'CBPE sensitivity',
        values: perf.series.map((s) => s.cbpeSensitivity),
        color: PALETTE[0],
        dash: [4, 4],
      },
      {
        label: 'CBPE specificity',
        values: perf.series.map((s) => s.cbpeSpecificity),
        color: PALETTE[2],
        dash: [4, 4],
      },
    ],
  });
  lineChart(document.getElementById('chart-fallback'), {
    name: 'fallback',
    xs: ops.series.map((s) => s.t),
    yLabel: 'share of windows',
    series: [
      { label: 'fallback rate', values: ops.series.map((s) => s.fallbackRate), color: PALETTE[1], width: 2 },
      { label: 'quality failures', values: ops.series.map((s) => s.qualityFailureRate), color: PALETTE[3] },
    ],
  });
  const reasons = Object.entries(ops.overall.reasons).sort((a, b) => b[1] - a[1]);
  barChart(document.getElementById('chart-reasons'), {
    name: 'fallback-reasons',
    title: 'Fallback windows by reason (whole period)',
    labels: reasons.map(([k]) => k),
    series: [{ label: 'windows', values: reasons.map(([, n]) => n), color: PALETTE[1] }],
    height: 200,
  });
  lineChart(document.getElementById('chart-burden'), {
    name: 'alert-burden',
    xs: ops.series.map((s) => s.t),
    yLabel: 'alerts per device-day',
    series: [
      {
        label: 'clinical alerts per device-day',
        values: ops.series.map((s) => s.alertsPerDeviceDay),
        color: PALETTE[4],
        width: 2,
      },
    ],
  });
  lineChart(document.getElementById('chart-latency'), {
    name: 'latency',
    xs: ops.series.map((s) => s.t),
    yLabel: 'ms',
    yLog: true,
    series: [
      { label: 'p50', values: ops.series.map((s) => s.latencyMs.p50), color: PALETTE[0] },
      { label: 'p99', values: ops.series.map((s) => s.latencyMs.p99), color: PALETTE[1] },
    ],
  });
}

function perfSummary(perf) {
  const o = perf.overall;
  const ci = (e) => (e.value === null ? '—' : `${fmt.p(e.value)} (${fmt.p(e.lower)}–${fmt.p(e.upper)})`);
  return h(
    'div',
    { class: 'muted' },
    `${fmt.n(o.labelled)} labelled windows · sensitivity ${ci(o.sensitivity)} · specificity ${ci(o.specificity)} · ECE ${fmt.x(o.ece)}`,
    perf.referenceEce === null ? '' : ` (reference ${fmt.x(perf.referenceEce)})`,
    ` · O/E ${o.observedExpected ? `${fmt.x(o.observedExpected.ratio, 2)} (${fmt.x(o.observedExpected.lower, 2)}–${fmt.x(o.observedExpected.upper, 2)})` : '—'}`,
    ` · CBPE sensitivity ${o.cbpe?.sensitivity === null || !o.cbpe ? '—' : fmt.p(o.cbpe.sensitivity)}`,
  );
}

function shadowTable(shadow) {
  return table(
    [
      'Candidate',
      { label: 'Pairs', num: true },
      'Agreement (95 % CI)',
      { label: 'Candidate fallback', num: true },
    ],
    shadow.map((s) =>
      h(
        'tr',
        {},
        h('td', {}, s.candidateBundleId),
        h('td', { class: 'num' }, fmt.n(s.pairs)),
        h(
          'td',
          {},
          s.agreement.value === null
            ? '—'
            : `${fmt.p(s.agreement.value, 2)} (${fmt.p(s.agreement.lower, 2)}–${fmt.p(s.agreement.upper, 2)})`,
        ),
        h('td', { class: 'num' }, fmt.p(s.candidateFallbackRate)),
      ),
    ),
  );
}

async function renderDistribution(model, base) {
  const el = document.getElementById('chart-distribution');
  if (!el || !model.hasProfile) return;
  const group = state.distGroup ? `${state.groupBy}:${state.distGroup}` : undefined;
  const d = await api(
    `models/${model.manifestSha256}/distribution?${qs({ ...base, variable: state.variable, group })}`,
  );
  const e = d.edges;
  const fmtEdge = (x) =>
    Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0)
      ? x.toExponential(1)
      : Number(x.toPrecision(3)).toString();
  const labels = d.counts.map((_, i) =>
    i === 0
      ? `< ${fmtEdge(e[0])}`
      : i === e.length
        ? `≥ ${fmtEdge(e[e.length - 1])}`
        : i === e.length + 1
          ? 'missing'
          : `${fmtEdge(e[i - 1])}–${fmtEdge(e[i])}`,
  );
  barChart(el, {
    name: 'distribution',
    title: `${d.variable.name}: ${fmt.n(d.n)} windows`,
    labels,
    series: [
      { label: 'reference', values: d.reference, color: '#8c959f' },
      { label: 'current', values: d.observed, color: PALETTE[0] },
    ],
    yLabel: 'share',
  });
}

// ---------------------------------------------------------------------------------------------------

async function renderDevices(root) {
  const devices = await api('devices');
  root.replaceChildren(
    h(
      'div',
      { class: 'panel' },
      h('h2', {}, `Devices (${devices.length})`),
      table(
        [
          'Device',
          'State',
          'Model',
          'Cohort',
          'Firmware',
          'Site',
          'Last report',
          { label: 'Reports', num: true },
          'Gaps (pending · late · evicted · lost)',
        ],
        devices.map((d) => {
          const s = d.sequence;
          const pending = s ? s.pending.reduce((n, g) => n + g.end - g.start, 0) : 0;
          return h(
            'tr',
            { dataset: { device: d.device } },
            h('td', {}, d.device),
            h('td', {}, h('span', { class: `state-${d.status}` }, d.status)),
            h('td', {}, d.modelLabel ?? '—'),
            h('td', {}, d.cohort ?? '—'),
            h('td', {}, d.firmware ?? '—'),
            h('td', {}, d.site || '—'),
            h('td', { title: fmt.t(d.lastReportMs) }, fmt.ago(d.lastReportMs)),
            h('td', { class: 'num' }, fmt.n(d.reports)),
            h(
              'td',
              { class: pending + (s?.lost ?? 0) > 0 ? 'bad' : undefined },
              s ? `${pending} · ${s.late} · ${s.evicted} · ${s.lost}` : '—',
            ),
          );
        }),
        { id: 'device-table' },
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------

async function renderAlerts(root) {
  const [alerts, models] = await Promise.all([api('alerts'), api('models')]);
  const label = new Map(models.map((m) => [m.manifestSha256, m.label]));
  const rows = alerts.map((a) => {
    const last = a.evidence.windows[a.evidence.windows.length - 1];
    const top = a.evidence.devices.slice(0, 3).map((d) => `${d.device} (PSI ${fmt.x(d.psi, 2)})`);
    const actions = h('td', {});
    if (a.state !== 'resolved') {
      const action = a.state === 'open' ? 'acknowledge' : 'resolve';
      const form = h(
        'form',
        { class: 'ack', dataset: { alert: a.id, action } },
        h('input', {
          name: 'by',
          placeholder: 'your name',
          required: true,
          maxlength: 100,
          autocomplete: 'name',
        }),
        h('input', {
          name: 'comment',
          placeholder: action === 'acknowledge' ? 'what you are doing about it' : 'how it was resolved',
          required: true,
          maxlength: 2000,
        }),
        h('button', { type: 'submit' }, action === 'acknowledge' ? 'Acknowledge' : 'Resolve'),
        h('span', { class: 'error' }),
      );
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const data = new FormData(form);
        try {
          await api(`alerts/${a.id}/${action}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ by: data.get('by'), comment: data.get('comment') }),
          });
          await show('alerts');
        } catch (error) {
          form.querySelector('.error').textContent = error.message;
        }
      });
      actions.append(form);
    }
    const who = [
      a.acknowledged ? `acknowledged by ${a.acknowledged.by}: “${a.acknowledged.comment}”` : null,
      a.resolved ? `resolved by ${a.resolved.by}: “${a.resolved.comment}”` : null,
    ].filter(Boolean);
    return h(
      'tr',
      { dataset: { alertId: a.id, state: a.state } },
      h('td', {}, `#${a.id}`),
      h('td', {}, h('span', { class: `state-${a.state}` }, a.state)),
      h(
        'td',
        {},
        label.get(a.manifestSha256) ?? fmt.short(a.manifestSha256),
        a.role === 'shadow' ? ' (shadow)' : '',
      ),
      h('td', {}, `${a.groupDimension} ${a.groupValue || '(none)'}`),
      h('td', {}, a.variableName),
      h('td', {}, fmt.t(a.firstWindowMs), ' → ', fmt.t(last?.endMs)),
      h(
        'td',
        {},
        last
          ? `PSI ${fmt.x(last.statistics.psi, 3)} (threshold ${fmt.x(last.thresholds.psi, 4)}), q ${fmt.q(last.qValue)}, n ${fmt.n(last.n)}`
          : '—',
        h(
          'div',
          { class: 'muted' },
          `${a.evidence.windows.length} windows · devices: ${top.join(', ') || '—'}`,
        ),
        h('details', {}, h('summary', {}, 'rule'), h('div', { class: 'muted' }, a.evidence.rule)),
        who.map((w) => h('div', {}, w)),
      ),
      actions,
    );
  });
  root.replaceChildren(
    h(
      'div',
      { class: 'panel' },
      h('h2', {}, 'Drift alerts'),
      table(['#', 'State', 'Model', 'Group', 'Variable', 'Windows', 'Evidence', 'Action'], rows, {
        id: 'alert-table',
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------

async function renderIncidents(root) {
  const r = range();
  const incidents = await api(`incidents?${qs({ from: r.from, to: r.to })}`);
  root.replaceChildren(
    h(
      'div',
      { class: 'panel' },
      h(
        'h2',
        {},
        'Incidents (rollbacks, freezes, revocations, suppressions, device drift alarms, audit findings)',
      ),
      table(
        ['When', 'Device', 'Kind', 'Source', 'Summary'],
        incidents.map((i) =>
          h(
            'tr',
            {},
            h('td', {}, fmt.t(i.atMs)),
            h('td', {}, i.device),
            h('td', {}, i.kind),
            h('td', {}, i.source),
            h('td', {}, i.summary),
          ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------

const RENDER = {
  overview: renderOverview,
  model: renderModel,
  devices: renderDevices,
  alerts: renderAlerts,
  incidents: renderIncidents,
};

async function show(requested) {
  const view = RENDER[requested] ? requested : 'overview';
  state.view = view;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === view);
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== `view-${view}`;
  const root = document.getElementById(`view-${view}`);
  const status = document.getElementById('status');
  try {
    await RENDER[view](root);
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.ready = view;
  } catch (error) {
    root.replaceChildren(h('p', { class: 'error' }, `Could not load: ${error.message}`));
    status.textContent = 'error';
  }
}

window.addEventListener('hashchange', () => show(location.hash.slice(1) || 'overview'));
document.getElementById('range').addEventListener('change', () => show(state.view));
setInterval(() => {
  if (state.view !== 'model' && !document.querySelector('form.ack input:focus')) void show(state.view);
}, 30_000);
void show(location.hash.slice(1) || 'overview');
