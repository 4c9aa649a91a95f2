// Static SVG charts for the surveillance report: the dashboard's charts (drift lines with thresholds,
// bars, reliability diagram) drawn as self-contained SVG, so the HTML and its PDF need no script.
// Every text goes through escapeXml.

export const COLORS = [
  '#1f6feb',
  '#d1242f',
  '#1a7f37',
  '#9a6700',
  '#8250df',
  '#bf3989',
  '#0a7f86',
  '#57606a',
] as const;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

export interface LineSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color?: string;
  readonly dash?: boolean;
  readonly width?: number;
}

interface Box {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

const BOX: Box = { width: 640, height: 240, left: 64, right: 16, top: 24, bottom: 56 };

function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return Number(v.toPrecision(3)).toString();
}

function dateLabel(ms: number, stepMs: number): string {
  const iso = new Date(ms).toISOString();
  return stepMs >= 86_400_000 ? iso.slice(5, 10) : iso.slice(5, 16).replace('T', ' ');
}

function legend(series: readonly { label: string; color: string; dash?: boolean }[], box: Box): string {
  let x = box.left;
  const y = box.height - 10;
  return series
    .map((s) => {
      const item =
        `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"` +
        `${s.dash ? ' stroke-dasharray="5 3"' : ''}/>` +
        `<text x="${x + 22}" y="${y}" font-size="10">${escapeXml(s.label)}</text>`;
      x += 30 + Math.min(200, s.label.length * 6);
      return item;
    })
    .join('');
}

/** Time-series line chart (xs in ms); log scale optional (non-positive values are left out). */
export function lineChartSvg(options: {
  readonly title: string;
  readonly xs: readonly number[];
  readonly series: readonly LineSeries[];
  readonly log?: boolean;
  readonly yLabel?: string;
  readonly stepMs?: number;
  readonly yMin?: number;
  readonly yMax?: number;
}): string {
  const box = BOX;
  const log = options.log === true;
  const vals: number[] = [];
  for (const s of options.series)
    for (const v of s.values) if (v !== null && Number.isFinite(v) && (!log || v > 0)) vals.push(v);
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${box.width} ${box.height}" width="${box.width}" height="${box.height}" role="img" aria-label="${escapeXml(options.title)}" font-family="sans-serif">`;
  const title = `<text x="${box.left}" y="14" font-size="12" font-weight="bold">${escapeXml(options.title)}</text>`;
  if (vals.length === 0 || options.xs.length === 0) {
    return `${head}${title}<text x="${box.left}" y="${box.top + plotH / 2}" font-size="12" fill="#59636e">no data in this period</text></svg>`;
  }
  let lo = options.yMin ?? Math.min(...vals);
  let hi = options.yMax ?? Math.max(...vals);
  if (log) {
    lo = Math.log10(lo);
    hi = Math.log10(hi);
    lo = Math.floor(lo);
    hi = Math.ceil(hi);
    if (hi === lo) hi = lo + 1;
  } else {
    if (options.yMin === undefined) lo = Math.min(0, lo);
    if (hi === lo) hi = lo + 1;
  }
  const x0 = options.xs[0] as number;
  const x1 = options.xs[options.xs.length - 1] as number;
  const sx = (x: number) => box.left + (x1 === x0 ? plotW / 2 : ((x - x0) / (x1 - x0)) * plotW);
  const ty = (v: number) => (log ? Math.log10(v) : v);
  const sy = (v: number) => box.top + plotH - ((ty(v) - lo) / (hi - lo)) * plotH;
  const parts: string[] = [head, title];
  const ticks = log ? Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i)) : niceTicks(lo, hi, 5);
  for (const t of ticks) {
    const y = sy(t);
    parts.push(
      `<line x1="${box.left}" y1="${y}" x2="${box.width - box.right}" y2="${y}" stroke="#d1d9e0" stroke-width="0.5"/>`,
      `<text x="${box.left - 4}" y="${y + 3}" font-size="10" text-anchor="end">${fmtTick(t)}</text>`,
    );
  }
  const step = options.stepMs ?? 86_400_000;
  const every = Math.max(1, Math.ceil(options.xs.length / 8));
  options.xs.forEach((x, i) => {
    if (i % every !== 0) return;
    parts.push(
      `<text x="${sx(x)}" y="${box.top + plotH + 14}" font-size="9" text-anchor="middle">${escapeXml(dateLabel(x, step))}</text>`,
    );
  });
  if (options.yLabel) {
    parts.push(
      `<text x="12" y="${box.top + plotH / 2}" font-size="10" transform="rotate(-90 12 ${box.top + plotH / 2})" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
    );
  }
  const shown: { label: string; color: string; dash?: boolean }[] = [];
  options.series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length] ?? '#000';
    let d = '';
    let pen = false;
    const dots: string[] = [];
    s.values.forEach((v, j) => {
      const x = options.xs[j];
      if (v === null || x === undefined || !Number.isFinite(v) || (log && v <= 0)) {
        pen = false;
        return;
      }
      const px = sx(x).toFixed(1);
      const py = sy(Math.min(Math.max(v, log ? 10 ** lo : lo), log ? 10 ** hi : hi)).toFixed(1);
      d += `${pen ? 'L' : 'M'}${px} ${py}`;
      pen = true;
      if (options.xs.length <= 40) dots.push(`<circle cx="${px}" cy="${py}" r="1.8" fill="${color}"/>`);
    });
    if (d === '') return;
    parts.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.width ?? 1.5}"${s.dash ? ' stroke-dasharray="5 3"' : ''}/>`,
      ...(s.dash ? [] : dots),
    );
    shown.push({ label: s.label, color, ...(s.dash ? { dash: true } : {}) });
  });
  parts.push(legend(shown.slice(0, 6), box), '</svg>');
  return parts.join('');
}

/** Grouped bar chart over categories. */
export function barChartSvg(options: {
  readonly title: string;
  readonly labels: readonly string[];
  readonly series: readonly { label: string; values: readonly number[]; color?: string }[];
  readonly yLabel?: string;
}): string {
  const box = { ...BOX, bottom: 90 };
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${box.width} ${box.height}" width="${box.width}" height="${box.height}" role="img" aria-label="${escapeXml(options.title)}" font-family="sans-serif">`;
  const title = `<text x="${box.left}" y="14" font-size="12" font-weight="bold">${escapeXml(options.title)}</text>`;
  const all = options.series.flatMap((s) => s.values);
  const hi = Math.max(1e-12, ...all);
  if (options.labels.length === 0 || all.every((v) => v === 0)) {
    return `${head}${title}<text x="${box.left}" y="${box.top + plotH / 2}" font-size="12" fill="#59636e">no data in this period</text></svg>`;
  }
  const parts: string[] = [head, title];
  for (const t of niceTicks(0, hi, 4)) {
    const y = box.top + plotH - (t / hi) * plotH;
    parts.push(
      `<line x1="${box.left}" y1="${y}" x2="${box.width - box.right}" y2="${y}" stroke="#d1d9e0" stroke-width="0.5"/>`,
      `<text x="${box.left - 4}" y="${y + 3}" font-size="10" text-anchor="end">${fmtTick(t)}</text>`,
    );
  }
  const slot = plotW / options.labels.length;
  const n = options.series.length;
  const barW = (slot * 0.8) / n;
  options.labels.forEach((label, j) => {
    options.series.forEach((s, i) => {
      const v = s.values[j] ?? 0;
      const h = (v / hi) * plotH;
      const x = box.left + j * slot + slot * 0.1 + i * barW;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(box.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color ?? COLORS[i % COLORS.length] ?? '#000'}"/>`,
      );
    });
    const cx = box.left + j * slot + slot / 2;
    const ly = box.top + plotH + 8;
    parts.push(
      `<text x="${cx.toFixed(1)}" y="${ly}" font-size="9" text-anchor="end" transform="rotate(-40 ${cx.toFixed(1)} ${ly})">${escapeXml(label)}</text>`,
    );
  });
  parts.push(
    legend(
      options.series.map((s, i) => ({
        label: s.label,
        color: s.color ?? COLORS[i % COLORS.length] ?? '#000',
      })),
      box,
    ),
    '</svg>',
  );
  return parts.join('');
}

/** Reliability diagram: observed rate vs mean predicted probability per score bin, with the diagonal. */
export function reliabilitySvg(options: {
  readonly title: string;
  readonly points: readonly {
    meanPredicted: number;
    observedRate: number;
    lower: number;
    upper: number;
    n: number;
  }[];
}): string {
  const size = 260;
  const pad = 44;
  const plot = size - pad - 16;
  const sx = (x: number) => pad + x * plot;
  const sy = (y: number) => 16 + plot - y * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size + 20}" width="${size}" height="${size + 20}" role="img" aria-label="${escapeXml(options.title)}" font-family="sans-serif">`,
    `<text x="${pad}" y="12" font-size="12" font-weight="bold">${escapeXml(options.title)}</text>`,
    `<rect x="${pad}" y="16" width="${plot}" height="${plot}" fill="none" stroke="#d1d9e0"/>`,
    `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#8c959f" stroke-dasharray="4 4"/>`,
  ];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<text x="${pad - 4}" y="${sy(t) + 3}" font-size="9" text-anchor="end">${t}</text>`,
      `<text x="${sx(t)}" y="${16 + plot + 12}" font-size="9" text-anchor="middle">${t}</text>`,
    );
  }
  parts.push(
    `<text x="${pad + plot / 2}" y="${size + 14}" font-size="10" text-anchor="middle">mean predicted probability</text>`,
    `<text x="10" y="${16 + plot / 2}" font-size="10" transform="rotate(-90 10 ${16 + plot / 2})" text-anchor="middle">observed rate</text>`,
  );
  if (options.points.length === 0) {
    parts.push(
      `<text x="${pad + 8}" y="${16 + plot / 2}" font-size="11" fill="#59636e">no labelled outcomes</text>`,
    );
  }
  for (const p of options.points) {
    const x = sx(p.meanPredicted);
    parts.push(
      `<line x1="${x}" y1="${sy(p.lower)}" x2="${x}" y2="${sy(p.upper)}" stroke="#9ecbff" stroke-width="2"/>`,
      `<circle cx="${x}" cy="${sy(p.observedRate)}" r="${Math.min(6, 2 + Math.log10(1 + p.n))}" fill="${COLORS[0]}"/>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
