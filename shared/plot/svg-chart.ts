/**
 * Line charts as standalone SVG, no dependencies: one or more panels side by side, each with
 * its axes (linear or log₁₀), grid, a line per series (broken where a value is missing, a dot
 * at each point of a short one) and a legend. `starling runs plot` draws learning curves with it, the
 * benchmarks their figures. Text is escaped; the same input gives the same bytes.
 */
export interface Series {
  readonly label: string;
  readonly points: readonly { readonly x: number; readonly y: number | null }[];
  /** A dashed line (a peer's figures beside Starling's, say). */
  readonly dashed?: boolean;
}

export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Log₁₀ axes (every value must then be > 0). */
  readonly logX?: boolean;
  readonly logY?: boolean;
}

/** Colours told apart with the common kinds of colour blindness (Okabe–Ito). */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

const PANEL_W = 480;
/** Series longer than this are drawn as lines only. */
const MAX_DOTS = 40;
const PANEL_H = 320;
const M = { left: 64, right: 16, top: 34, bottom: 46 };

/** The SVG document of `panels`, side by side, under `title` (the document's accessible name). */
export function svgChart(panels: readonly Panel[], title: string): string {
  if (panels.length === 0) throw new Error('svgChart: no panels');
  const labels = [...new Set(panels.flatMap((p) => p.series.map((s) => s.label)))];
  const colour = new Map(labels.map((l, i) => [l, PALETTE[i % PALETTE.length]!]));
  const legendRows = labels.length;
  // wide enough for the longest legend entry (about 7 px a character at 12 px sans-serif)
  // a panel is wide enough for its bold title (about 7.5 px a character), the document for the longest legend entry (about 7)
  const widths = panels.map((p) => Math.max(PANEL_W, Math.ceil(M.left + p.title.length * 7.5 + M.right)));
  const lefts = widths.map((_, i) => widths.slice(0, i).reduce((a, w) => a + w, 0));
  const width = Math.max(
    widths.reduce((a, w) => a + w, 0),
    M.left + 30 + Math.max(...labels.map((l) => l.length)) * 7 + M.right,
  );
  const height = PANEL_H + 12 + legendRows * 18;
  const body = panels.map((p, i) => panel(p, lefts[i]!, widths[i]!, colour));
  const legend = labels.map((l, i) => {
    const y = PANEL_H + 10 + i * 18;
    const dashed = panels.some((p) => p.series.some((s) => s.label === l && s.dashed));
    return (
      `<line x1="${M.left}" x2="${M.left + 22}" y1="${y}" y2="${y}" stroke="${colour.get(l)}" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''}/>` +
      `<text x="${M.left + 30}" y="${y + 4}">${escapeXml(l)}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img">
<title>${escapeXml(title)}</title>
<rect width="${width}" height="${height}" fill="white"/>
${[...body, ...legend].join('\n')}
</svg>
`;
}

function panel(p: Panel, left: number, panelWidth: number, colour: ReadonlyMap<string, string>): string {
  const points = p.series.flatMap((s) => s.points.filter((q): q is { x: number; y: number } => q.y !== null && Number.isFinite(q.y)));
  if ((p.logX && points.some((q) => q.x <= 0)) || (p.logY && points.some((q) => q.y <= 0)))
    throw new Error(`svgChart: "${p.title}" has a value ≤ 0 on a log axis`);
  const fx = p.logX ? Math.log10 : (v: number) => v;
  const fy = p.logY ? Math.log10 : (v: number) => v;
  const xAxis = axis(
    points.map((q) => fx(q.x)),
    p.logX ?? false,
    !p.logX && points.every((q) => Number.isInteger(q.x)),
  );
  const yAxis = axis(
    points.map((q) => fy(q.y)),
    p.logY ?? false,
    false,
  );
  const plotW = panelWidth - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  const px = (x: number) => left + M.left + ((fx(x) - xAxis.lo) / (xAxis.hi - xAxis.lo)) * plotW;
  const py = (y: number) => M.top + plotH - ((fy(y) - yAxis.lo) / (yAxis.hi - yAxis.lo)) * plotH;
  const out: string[] = [`<text x="${left + M.left}" y="${M.top - 12}" font-weight="bold">${escapeXml(p.title)}</text>`];
  for (const t of yAxis.ticks) {
    const y = M.top + plotH - ((t - yAxis.lo) / (yAxis.hi - yAxis.lo)) * plotH;
    out.push(`<line x1="${left + M.left}" x2="${left + M.left + plotW}" y1="${f(y)}" y2="${f(y)}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${left + M.left - 6}" y="${f(y + 4)}" text-anchor="end">${tickLabel(t, p.logY ?? false)}</text>`);
  }
  for (const t of xAxis.ticks) {
    const x = left + M.left + ((t - xAxis.lo) / (xAxis.hi - xAxis.lo)) * plotW;
    out.push(`<line x1="${f(x)}" x2="${f(x)}" y1="${M.top}" y2="${M.top + plotH}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${f(x)}" y="${M.top + plotH + 16}" text-anchor="middle">${tickLabel(t, p.logX ?? false)}</text>`);
  }
  out.push(`<rect x="${left + M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${left + M.left + plotW / 2}" y="${PANEL_H - 10}" text-anchor="middle">${escapeXml(p.xLabel)}</text>`);
  out.push(`<text transform="translate(${left + 14} ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(p.yLabel)}</text>`);
  for (const s of p.series) {
    const c = colour.get(s.label)!;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    // a missing value breaks the line: each run of present values is one polyline
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) out.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${dash} points="${run.join(' ')}"/>`);
      // a value alone between gaps is a dot even on a long series
      else if (run.length === 1 && !dots) {
        const [x, y] = run[0]!.split(',');
        out.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${c}"/>`);
      }
      run = [];
    };
    // a dot at each point while they are few enough to tell apart
    const dots = s.points.length <= MAX_DOTS;
    for (const q of s.points) {
      if (q.y === null || !Number.isFinite(q.y)) {
        flush();
        continue;
      }
      const [x, y] = [f(px(q.x)), f(py(q.y))];
      run.push(`${x},${y}`);
      if (dots) out.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${c}"/>`);
    }
    flush();
  }
  return out.join('\n');
}

/** An axis's range and ticks over `values` (already log₁₀ on a log axis): decades on a log axis, 1–2–5 steps otherwise (whole steps for whole values, rounds say). */
function axis(values: readonly number[], log: boolean, integers: boolean): { lo: number; hi: number; ticks: number[] } {
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (log) {
    lo = Math.floor(lo);
    hi = Math.max(Math.ceil(hi), lo + 1);
    return { lo, hi, ticks: Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) };
  }
  if (hi === lo) [lo, hi] = [lo - 1, hi + 1];
  const raw = (hi - lo) / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const nice = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const step = integers ? Math.max(1, Math.round(nice)) : nice;
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { lo, hi, ticks };
}

function tickLabel(t: number, log: boolean): string {
  const v = log ? 10 ** t : t;
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(4)));
}

/** Two decimals: enough for a pixel, and stable bytes. */
function f(v: number): string {
  return v.toFixed(2);
}

/** Text as XML character data: markup characters as references, controls XML cannot hold as a space. */
function escapeXml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the controls are what is replaced
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
