import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.ts';

export interface CleanOptions {
  /** Declared class count: a label outside 0..classes-1 drops the row. Default 256. */
  readonly classes?: number;
  /** Inclusive bounds every feature must lie within; a value outside drops the row. */
  readonly range?: readonly [number, number];
  /** Drop exact duplicates (same features and label), keeping the first. Default true. */
  readonly dropDuplicates?: boolean;
}

export type DropReason = 'malformed' | 'missing' | 'outOfRange' | 'badLabel' | 'duplicate';

/** What cleaning did: counts per reason and the first few dropped lines of each, to look at. */
export interface CleanReport {
  readonly rows: number;
  readonly kept: number;
  readonly dropped: Record<DropReason, number>;
  readonly examples: Record<DropReason, number[]>;
}

const EXAMPLES = 5;

/**
 * Decides, row by row as a file streams past, which rows a dataset keeps: a row with a
 * missing or non-finite value, a value outside `range`, a label outside the declared
 * classes, or the same content as an earlier row (SHA-256 of its bytes) is dropped and
 * counted under its first reason.
 */
export class RowCleaner {
  private readonly seen = new Set<string>();
  private rows = 0;
  private kept = 0;
  private readonly dropped: Record<DropReason, number> = { malformed: 0, missing: 0, outOfRange: 0, badLabel: 0, duplicate: 0 };
  private readonly examples: Record<DropReason, number[]> = { malformed: [], missing: [], outOfRange: [], badLabel: [], duplicate: [] };

  constructor(private readonly opts: CleanOptions = {}) {}

  /** Counts a row that could not even be split into the header's columns. */
  malformed(line: number): void {
    this.rows++;
    this.drop('malformed', line);
  }

  /** True when the row is kept; `features` may hold NaN for missing cells. */
  offer(line: number, features: readonly number[], label: number): boolean {
    this.rows++;
    const reason = this.reason(features, label);
    if (reason) return this.drop(reason, line);
    this.kept++;
    return true;
  }

  report(): CleanReport {
    return { rows: this.rows, kept: this.kept, dropped: { ...this.dropped }, examples: structuredClone(this.examples) };
  }

  private reason(features: readonly number[], label: number): DropReason | undefined {
    if (!Number.isFinite(label) || features.some((v) => !Number.isFinite(v))) return 'missing';
    const classes = this.opts.classes ?? 256;
    if (!Number.isInteger(label) || label < 0 || label >= classes) return 'badLabel';
    const range = this.opts.range;
    if (range && features.some((v) => v < range[0] || v > range[1])) return 'outOfRange';
    if (this.opts.dropDuplicates === false) return undefined;
    const bytes = Float64Array.from([...features, label]);
    const key = createHash('sha256').update(new Uint8Array(bytes.buffer)).digest('base64');
    if (this.seen.has(key)) return 'duplicate';
    this.seen.add(key);
    return undefined;
  }

  private drop(reason: DropReason, line: number): false {
    this.dropped[reason]++;
    if (this.examples[reason].length < EXAMPLES) this.examples[reason].push(line);
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

/** `lo,hi` → [lo, hi], for `--clean-range`. */
export function parseRange(text: string): [number, number] {
  const parts = text.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || text.split(',').some((p) => p.trim() === '') || !parts.every(Number.isFinite) || parts[0]! > parts[1]!) {
    throw new ConfigError(`--clean-range must be lo,hi with lo ≤ hi (e.g. 0,255), got "${text}"`);
  }
  return [parts[0]!, parts[1]!];
}
