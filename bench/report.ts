/**
 * What `npm run bench -- --out DIR` writes beside the JSON it prints: bench.md, a Markdown
 * table per benchmark (a row per object, a column per scalar field, medians with their
 * spreads, nested objects flattened one level), and figures — rounds.svg (seconds per round
 * against clients for each engine, in the clear and secure, with the machine's limit and
 * Flower's side-by-side figures) and, for `--scale`, the peak-RSS plot.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { svgChart, type Series } from '../shared/plot/svg-chart.ts';

type Row = Record<string, unknown> & { readonly bench?: string };

/** A cell: numbers to 4 significant digits, {median, min, max} as "median (min–max)", arrays of numbers joined. */
export function cell(v: unknown): string | undefined {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  if (typeof v === 'string' || typeof v === 'boolean') return markdownText(String(v));
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number' || x === null) ? v.map((x) => cell(x)).join(' / ') : undefined;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.median === 'number' && typeof o.min === 'number' && typeof o.max === 'number') return `${cell(o.median)} (${cell(o.min)}–${cell(o.max)})`;
  }
  return undefined;
}

/** Text inside a Markdown table cell: backslashes and pipes escaped, line breaks as spaces. */
function markdownText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The columns of a row: its scalar fields, and one level into objects that are not spreads (`timingsMedian.collect`). */
function columns(row: Row): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(row)) {
    if (key === 'bench') continue;
    const c = cell(value);
    if (c !== undefined) out.push([key, c]);
    else if (value && typeof value === 'object' && !Array.isArray(value))
      for (const [inner, v] of Object.entries(value as Record<string, unknown>)) {
        const ic = cell(v);
        if (ic !== undefined) out.push([`${key}.${inner}`, ic]);
      }
  }
  return out;
}

/** bench.md: a section and table per benchmark, in the order they ran. */
export function benchMarkdown(report: readonly Row[], title: string): string {
  const groups = new Map<string, Row[]>();
  for (const r of report) {
    const name = String(r.bench ?? 'other');
    groups.set(name, [...(groups.get(name) ?? []), r]);
  }
  let md = `# ${title}\n`;
  for (const [name, rows] of groups) {
    const cells = rows.map((r) => new Map(columns(r)));
    const keys = [...new Set(cells.flatMap((c) => [...c.keys()]))];
    md += `\n## ${markdownText(name)}\n\n| ${keys.map(markdownText).join(' | ')} |\n|${keys.map(() => '---').join('|')}|\n`;
    for (const c of cells) md += `| ${keys.map((k) => c.get(k) ?? '').join(' | ')} |\n`;
  }
  return md;
}

interface RoundRow {
  readonly bench: 'round';
  readonly engine: string;
  readonly secure: boolean;
  readonly clients: number;
  readonly secondsPerRoundMedian: number;
  readonly machineLimit: { readonly roundSeconds: number };
  readonly flower: { readonly secondsPerRoundBySet: readonly number[]; readonly measured: string } | null;
}

/** rounds.svg: seconds per round against clients, a line per engine and channel, the machine's limit and Flower's sets dashed. */
export function roundsFigure(report: readonly Row[]): string | undefined {
  const rows = report.filter((r): r is Row & RoundRow => r.bench === 'round');
  if (rows.length === 0) return undefined;
  // the pool names a tfjs engine by its backend (wasm, tensorflow, webgpu…)
  const keyOf = (r: RoundRow) => `Starling ${r.engine === 'simd' ? 'simd' : `tfjs (${r.engine})`}${r.secure ? '' : ', in the clear'}`;
  const series: Series[] = [...new Set(rows.map(keyOf))].map((label) => ({
    label,
    points: rows
      .filter((r) => keyOf(r) === label)
      .sort((a, b) => a.clients - b.clients)
      .map((r) => ({ x: r.clients, y: r.secondsPerRoundMedian })),
  }));
  const limits = rows.filter((r) => r.engine === 'simd' && r.secure).sort((a, b) => a.clients - b.clients);
  if (limits.length)
    series.push({ label: "the machine's limit (simd)", dashed: true, points: limits.map((r) => ({ x: r.clients, y: r.machineLimit.roundSeconds })) });
  const flower = limits.filter((r) => r.flower);
  for (const set of [0, 1]) {
    const points = flower.map((r) => ({ x: r.clients, y: r.flower!.secondsPerRoundBySet[set] ?? null }));
    // Flower was measured on its own day (`measured`): a figure beside this run's, not of it
    if (points.some((p) => p.y !== null)) series.push({ label: `Flower 1.5, set ${set + 1} measured ${flower[0]!.flower!.measured}`, dashed: true, points });
  }
  return svgChart(
    [{ title: 'seconds per round', xLabel: 'clients', yLabel: 'seconds', series }],
    "Seconds per round of the core workload against clients, Starling's engines beside the machine's limit and Flower",
  );
}

/** Writes bench.json, bench.md and the figures into `dir`; returns the files written. */
export function writeBenchReport(dir: string, report: readonly Row[], title: string, figures: Record<string, string | undefined>): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['bench.json', `${JSON.stringify(report, null, 2)}\n`],
    ['bench.md', benchMarkdown(report, title)],
    ...Object.entries(figures).flatMap(([name, svg]): [string, string][] => (svg ? [[name, svg]] : [])),
  ];
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}
