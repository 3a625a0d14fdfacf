import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import { MAX_CLASSES } from './dataset.ts';

export interface CleanOptions {
  /** Declared class count: a label outside 0..classes-1 drops the row. Default 256. */
  readonly classes?: number;
  /** Inclusive bounds every feature must lie within; a value outside drops the row. */
  readonly range?: readonly [number, number];
  /** Drop exact duplicates (same features and label), keeping the first. Default true. */
  readonly dropDuplicates?: boolean;
  /** Regression: a label is a real-valued target, so any finite number is kept (no class-index check). */
  readonly realLabels?: boolean;
}

export type DropReason = 'malformed' | 'missing' | 'outOfRange' | 'badLabel' | 'duplicate';

/** One dropped row: its line in the file, why, and the detail (which column, which value, which earlier line). */
export interface Drop {
  readonly line: number;
  readonly reason: DropReason;
  readonly detail: string;
}

/** What cleaning did: counts per reason, the first few dropped lines of each, and each dropped row (up to DROPS_KEPT). */
export interface CleanReport {
  readonly rows: number;
  readonly kept: number;
  readonly dropped: Record<DropReason, number>;
  readonly examples: Record<DropReason, number[]>;
  /** Every dropped row in file order, the first DROPS_KEPT of them (a report is for people to read). */
  readonly drops: readonly Drop[];
}

const EXAMPLES = 5;
export const DROPS_KEPT = 1000;

/** What the cleaner is told of a row it judges: names for its messages. */
export interface RowContext {
  /** The feature columns' names, in the row's order. */
  readonly columns?: readonly string[];
  /** The label as written, when it could not become a class (e.g. a name outside the declared classes). */
  readonly labelText?: string;
}

/**
 * Decides, row by row as a file streams past, which rows a dataset keeps: a row with a
 * missing or non-finite value, a value outside `range`, a label outside the declared
 * classes, or the same content as an earlier row (SHA-256 of its bytes) is dropped and
 * counted under its first reason.
 */
export class RowCleaner {
  /** Content hash → the line that first held it. */
  private readonly seen = new Map<string, number>();
  private rows = 0;
  private kept = 0;
  private readonly dropped: Record<DropReason, number> = { malformed: 0, missing: 0, outOfRange: 0, badLabel: 0, duplicate: 0 };
  private readonly examples: Record<DropReason, number[]> = { malformed: [], missing: [], outOfRange: [], badLabel: [], duplicate: [] };
  private readonly drops: Drop[] = [];

  constructor(private readonly opts: CleanOptions = {}) {}

  /** Counts a row that could not even be split into the header's columns. */
  malformed(line: number, detail = 'wrong number of columns'): void {
    this.rows++;
    this.drop('malformed', line, detail);
  }

  /** True when the row is kept; `features` may hold NaN for missing cells, `label` NaN for a label that is no class. */
  offer(line: number, features: readonly number[] | Float32Array, label: number, context: RowContext = {}): boolean {
    this.rows++;
    const why = this.reason(line, features, label, context);
    if (why) return this.drop(why.reason, line, why.detail);
    this.kept++;
    return true;
  }

  report(): CleanReport {
    return { rows: this.rows, kept: this.kept, dropped: { ...this.dropped }, examples: structuredClone(this.examples), drops: [...this.drops] };
  }

  private reason(
    line: number,
    features: readonly number[] | Float32Array,
    label: number,
    context: RowContext,
  ): { reason: DropReason; detail: string } | undefined {
    const column = (k: number) => context.columns?.[k] ?? `feature ${k + 1}`;
    if (context.labelText !== undefined) return { reason: 'badLabel', detail: `label "${context.labelText}" is not one of the classes` };
    if (!Number.isFinite(label)) return { reason: 'missing', detail: 'no label' };
    const bad = features.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) return { reason: 'missing', detail: `column "${column(bad)}" is empty or not a number` };
    const classes = this.opts.classes ?? MAX_CLASSES;
    if (!this.opts.realLabels && (!Number.isInteger(label) || label < 0 || label >= classes))
      return { reason: 'badLabel', detail: `label ${label} is not a class index in 0..${classes - 1}` };
    const range = this.opts.range;
    const out = range ? features.findIndex((v) => v < range[0] || v > range[1]) : -1;
    if (range && out >= 0) return { reason: 'outOfRange', detail: `column "${column(out)}" = ${features[out]} is outside [${range[0]}, ${range[1]}]` };
    if (this.opts.dropDuplicates === false) return undefined;
    const bytes = Float64Array.from([...features, label]);
    const key = createHash('sha256').update(new Uint8Array(bytes.buffer)).digest('base64');
    const first = this.seen.get(key);
    if (first !== undefined) return { reason: 'duplicate', detail: `same as line ${first}` };
    this.seen.set(key, line);
    return undefined;
  }

  private drop(reason: DropReason, line: number, detail: string): false {
    this.dropped[reason]++;
    if (this.examples[reason].length < EXAMPLES) this.examples[reason].push(line);
    if (this.drops.length < DROPS_KEPT) this.drops.push({ line, reason, detail });
    return false;
  }
}

/** One line per reason, for people: "dropped 3 of 120 rows: 2 duplicate (lines 4, 9), 1 missing (line 7)". */
export function formatCleanReport(r: CleanReport): string {
  const parts = (Object.keys(r.dropped) as DropReason[])
    .filter((k) => r.dropped[k] > 0)
    .map(
      (k) => `${r.dropped[k]} ${k} (line${r.examples[k].length > 1 ? 's' : ''} ${r.examples[k].join(', ')}${r.dropped[k] > r.examples[k].length ? ', …' : ''})`,
    );
  return parts.length === 0 ? `kept all ${r.rows} rows` : `dropped ${r.rows - r.kept} of ${r.rows} rows: ${parts.join(', ')}`;
}

/** The summary line, then one line per dropped row ("  line 7  missing  column "b" is empty or not a number"). */
export function formatDrops(r: CleanReport): string[] {
  const width = String(r.drops.at(-1)?.line ?? 0).length;
  const lines = r.drops.map((d) => `  line ${String(d.line).padStart(width)}  ${d.reason.padEnd(10)}  ${d.detail}`);
  const more = r.rows - r.kept - r.drops.length;
  return [formatCleanReport(r), ...lines, ...(more > 0 ? [`  … and ${more} more dropped rows`] : [])];
}

/** `lo,hi` → [lo, hi], for `--clean-range`. */
export function parseRange(text: string): [number, number] {
  const parts = text.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || text.split(',').some((p) => p.trim() === '') || !parts.every(Number.isFinite) || parts[0]! > parts[1]!) {
    throw new ConfigError(`--clean-range must be lo,hi with lo ≤ hi (e.g. 0,255), got "${text}"`);
  }
  return [parts[0]!, parts[1]!];
}
