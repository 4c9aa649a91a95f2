// Chart helpers on uPlot (node_modules/uplot, served as /static/vendor/uPlot.esm.js). Plain ES module,
// no build step. Every chart draws into a canvas inside `el`; `data-chart` names it for tests.
import uPlot from './vendor/uPlot.esm.js';

export const PALETTE = [
  '#1f6feb',
  '#d1242f',
  '#1a7f37',
  '#9a6700',
  '#8250df',
  '#bf3989',
  '#0a7f86',
  '#57606a',
];

function size(el, height) {
  const width = Math.max(280, Math.floor(el.clientWidth || el.parentElement?.clientWidth || 600) - 8);
  return { width, height };
}

function frame(el, name, title) {
  el.replaceChildren();
  el.dataset.chart = name;
  if (title) {
    const h = document.createElement('div');
    h.className = 'chart-title';
    h.textContent = title;
    el.append(h);
  }
  const body = document.createElement('div');
  el.append(body);
  return body;
}

/** Time-series lines: xs in ms since the epoch; series [{label, values, color, dash, width}]. */
export function lineChart(
  el,
  { name, title, xs, series, yLog = false, yLabel = '', height = 220, yRange, legend = true },
) {
  const body = frame(el, name, title);
  const opts = {
    ...size(el, height),
    scales: {
      x: { time: true },
      y: yLog ? { distr: 3, log: 10 } : yRange ? { range: () => yRange } : { auto: true },
    },
    axes: [{}, { label: yLabel, size: 60 }],
    legend: { live: false, show: legend },
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.color ?? PALETTE[i % PALETTE.length],
        width: s.width ?? 1.5,
        dash: s.dash,
        spanGaps: false,
        points: { show: xs.length < 40, size: 4 },
      })),
    ],
  };
  const clean = (v) => (v === null || v === undefined || !Number.isFinite(v) || (yLog && v <= 0) ? null : v);
  const data = [xs.map((t) => t / 1000), ...series.map((s) => s.values.map(clean))];
  return new uPlot(opts, data, body);
}

/** Grouped bars over categories: series [{label, values, color}] (one slot per series and category). */
export function barChart(el, { name, title, labels, series, height = 220, yLabel = '' }) {
  const body = frame(el, name, title);
  const n = series.length;
  const stride = n + 1;
  const xs = [];
  for (let j = 0; j < labels.length; j++) for (let i = 0; i < n; i++) xs.push(j * stride + i);
  const centre = (j) => j * stride + (n - 1) / 2;
  const opts = {
    ...size(el, height),
    scales: {
      x: { time: false, range: [-1, labels.length * stride - 1] },
      y: { range: (u, min, max) => [0, Math.max(max, 1e-9) * 1.1] },
    },
    axes: [
      {
        splits: () => labels.map((_, j) => centre(j)),
        values: (u, splits) => splits.map((v) => labels[Math.round((v - (n - 1) / 2) / stride)] ?? ''),
        rotate: labels.length > 8 ? -40 : 0,
        size: labels.length > 8 ? 80 : 40,
      },
      { label: yLabel, size: 60 },
    ],
    legend: { live: false },
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        fill: (s.color ?? PALETTE[i % PALETTE.length]) + 'b0',
        stroke: s.color ?? PALETTE[i % PALETTE.length],
        paths: uPlot.paths.bars({ size: [0.95, 80], align: 0 }),
        points: { show: false },
      })),
    ],
  };
  const data = [
    xs,
    ...series.map((s, i) =>
      xs.map((x) => (x % stride === i ? (s.values[Math.floor(x / stride)] ?? null) : null)),
    ),
  ];
  return new uPlot(opts, data, body);
}

/** Reliability diagram: points (mean predicted, observed rate) against the diagonal. */
export function reliabilityChart(el, { name, title, points, height = 240 }) {
  const body = frame(el, name, title);
  const xs = [...new Set([0, 1, ...points.map((p) => p.meanPredicted)])].sort((a, b) => a - b);
  const at = new Map(points.map((p) => [p.meanPredicted, p]));
  const opts = {
    ...size(el, height),
    scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
    axes: [{ label: 'mean predicted probability' }, { label: 'observed rate', size: 60 }],
    legend: { live: false },
    series: [
      {},
      {
        label: 'perfect calibration',
        stroke: '#8c959f',
        dash: [4, 4],
        spanGaps: true,
        points: { show: false },
      },
      {
        label: 'observed',
        stroke: PALETTE[0],
        width: 0,
        paths: () => null,
        points: { show: true, size: 8, fill: PALETTE[0] },
      },
      { label: '95% upper', stroke: '#9ecbff', width: 0, paths: () => null, points: { show: true, size: 4 } },
      { label: '95% lower', stroke: '#9ecbff', width: 0, paths: () => null, points: { show: true, size: 4 } },
    ],
  };
  const data = [
    xs,
    xs.map((x) => (x === 0 || x === 1 ? x : null)),
    xs.map((x) => at.get(x)?.observedRate ?? null),
    xs.map((x) => at.get(x)?.upper ?? null),
    xs.map((x) => at.get(x)?.lower ?? null),
  ];
  return new uPlot(opts, data, body);
}

/** Whether a chart's canvas has any drawn pixel (used by the page test and the empty-state check). */
export function canvasHasInk(el) {
  const canvas = el.querySelector('canvas');
  if (!canvas) return false;
  const ctx = canvas.getContext('2d');
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
  return false;
}
