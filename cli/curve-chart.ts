/** One curve: its one-character mark and its values by x (a round), null where it has none. */
export interface CurveSeries {
  readonly mark: string;
  readonly points: readonly { readonly x: number; readonly y: number | null }[];
}

/** Columns between two neighbouring x at most, so that a short run is not stretched across the width. */
const MAX_STEP = 8;

export interface CurveChartOptions {
  /** Rows of the plot area (default 14). */
  readonly height?: number;
  /** Columns of the plot area at most (default 60). */
  readonly width?: number;
  /** How the y axis labels its min and max (default 4 significant digits). */
  readonly format?: (y: number) => string;
  /** The x axis's name, after its numbers (default 'round'). */
  readonly xLabel?: string;
}

/**
 * Curves side by side as lines of text. Each series is drawn with its mark at its values
 * (upper case) and its lower case between two values next to each other when they lie
 * columns apart; a cell two curves share shows '*'. A null value breaks the curve. The
 * y axis is labelled with the smallest and largest value, the x axis with the first, a
 * middle and the last x. Pure: the same series give the same lines.
 */
export function curveChart(series: readonly CurveSeries[], options: CurveChartOptions = {}): string[] {
  const height = Math.max(2, Math.floor(options.height ?? 14));
  const maxWidth = Math.max(2, Math.floor(options.width ?? 60));
  const format = options.format ?? ((y: number) => String(Number(y.toPrecision(4))));
  const xLabel = options.xLabel ?? 'round';
  const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter(Number.isFinite);
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((y): y is number => y !== null && Number.isFinite(y));
  if (xs.length === 0 || ys.length === 0) return ['(no values to plot)'];
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  const xSpan = xMax - xMin;
  // few x: each lands on a column of its own, evenly spaced (MAX_STEP apart at most); many: the nearest column
  const step = Math.min(MAX_STEP, Math.floor((maxWidth - 1) / xSpan));
  const width = xSpan === 0 ? 1 : Number.isInteger(xSpan) && step >= 1 ? xSpan * step + 1 : maxWidth;
  const column = (x: number) => (xSpan === 0 ? 0 : Math.round(((x - xMin) / xSpan) * (width - 1)));
  const row = (y: number) => (yMax === yMin ? Math.floor((height - 1) / 2) : Math.round(((y - yMin) / (yMax - yMin)) * (height - 1)));

  // cells[row][column]: the marks there, upper case where a value lies, lower case between values
  const cells: Map<string, boolean>[][] = Array.from({ length: height }, () => Array.from({ length: width }, () => new Map<string, boolean>()));
  const put = (r: number, c: number, mark: string, point: boolean) => {
    const cell = cells[r]![c]!;
    cell.set(mark, (cell.get(mark) ?? false) || point);
  };
  for (const s of series) {
    const points = [...s.points].filter((p) => Number.isFinite(p.x)).sort((a, b) => a.x - b.x);
    points.forEach((p, i) => {
      if (p.y === null || !Number.isFinite(p.y)) return;
      put(row(p.y), column(p.x), s.mark, true);
      const next = points[i + 1];
      if (!next || next.y === null || !Number.isFinite(next.y)) return;
      const [c0, c1] = [column(p.x), column(next.x)];
      for (let c = c0 + 1; c < c1; c++) put(row(p.y + ((next.y - p.y) * (c - c0)) / (c1 - c0)), c, s.mark, false);
    });
  }
  const glyph = (cell: Map<string, boolean>) => {
    if (cell.size === 0) return ' ';
    if (cell.size > 1) return '*';
    const [mark, point] = [...cell][0]!;
    return point ? mark.toUpperCase() : mark.toLowerCase();
  };

  const top = format(yMax);
  const bottom = format(yMin);
  const gutter = Math.max(top.length, bottom.length);
  const lines: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    const label = yMax === yMin ? (r === row(yMin) ? top : '') : r === height - 1 ? top : r === 0 ? bottom : '';
    const axis = label ? '┤' : '│';
    lines.push(`${label.padStart(gutter)} ${axis}${cells[r]!.map(glyph).join('')}`.trimEnd());
  }
  lines.push(`${' '.repeat(gutter)} └${'─'.repeat(width)}`);
  lines.push(`${' '.repeat(gutter + 2)}${xAxis(xMin, xMax, width, column)}  ${xLabel}`.trimEnd());
  return lines;
}

/** The x axis's numbers: the first at its column, the last ending at its column, a middle one when it fits between. */
function xAxis(xMin: number, xMax: number, width: number, column: (x: number) => number): string {
  const text = Array.from({ length: width }, () => ' ');
  const place = (label: string, start: number) => {
    for (let i = 0; i < label.length; i++) text[start + i] = label[i]!;
  };
  const first = String(xMin);
  if (xMax === xMin) return first;
  const last = String(xMax);
  const lastStart = Math.max(0, width - last.length);
  const middle = Math.round((xMin + xMax) / 2);
  const middleLabel = String(middle);
  const middleStart = column(middle) - Math.floor((middleLabel.length - 1) / 2);
  const gap = 2;
  if (middle !== xMin && middle !== xMax && middleStart >= first.length + gap && middleStart + middleLabel.length + gap <= lastStart)
    place(middleLabel, middleStart);
  if (lastStart >= first.length + 1) place(last, lastStart);
  place(first, 0);
  return text.join('').trimEnd() || first;
}
