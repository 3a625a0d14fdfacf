import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DataError } from '../errors.ts';
import type { Dataset } from './dataset.ts';
import { formatCleanReport, RowCleaner, type CleanOptions, type CleanReport } from './clean.ts';

export interface CsvOptions {
  /** Name of the header column that holds the class label (an integer 0..classes-1). */
  readonly label: string;
  /**
   * Number of classes; a label outside 0..classes-1 is an error. When absent,
   * labels may be 0..255 and the count is the largest label + 1.
   */
  readonly classes?: number;
  /** Expected number of feature columns (the model's input size), checked against the header. */
  readonly features?: number;
}

/**
 * Streams a CSV file with a header row into a Dataset. Every non-label column is a
 * numeric feature. A malformed row fails with its line number and the reason.
 */
export async function loadCsv(path: string, opts: CsvOptions): Promise<Dataset> {
  return (await readCsv(path, opts)).dataset;
}

/**
 * Like loadCsv, but a row with a missing or non-numeric value, a value outside
 * `range`, a label outside the declared classes, a wrong column count, or the same
 * content as an earlier row is dropped instead of failing the load; the report says
 * how many rows each reason dropped and on which lines.
 */
export async function loadCsvCleaned(path: string, opts: CsvOptions & CleanOptions): Promise<{ dataset: Dataset; report: CleanReport }> {
  const cleaner = new RowCleaner(opts);
  const { dataset } = await readCsv(path, opts, cleaner);
  return { dataset, report: cleaner.report() };
}

async function readCsv(path: string, opts: CsvOptions, cleaner?: RowCleaner): Promise<{ dataset: Dataset }> {
  if (!existsSync(path)) throw new DataError(`data file ${path} does not exist`);
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let header: string[] | undefined;
  let labelCol = -1;
  let features = 0;
  const xs: number[] = [];
  const ys: number[] = [];
  let lineNo = 0;
  const maxClasses = opts.classes ?? 256;
  for await (const raw of lines) {
    lineNo++;
    const line = raw.trim();
    if (line === '') continue;
    const cells = line.split(',').map((c) => c.trim());
    if (!header) {
      header = cells;
      labelCol = header.indexOf(opts.label);
      if (labelCol < 0) throw new DataError(`${path}:${lineNo}: no column named "${opts.label}" in the header (${header.join(', ')})`);
      features = header.length - 1;
      if (opts.features !== undefined && features !== opts.features) {
        throw new DataError(`${path}: ${features} feature columns, but the model expects ${opts.features}`);
      }
      continue;
    }
    if (cells.length !== header.length) {
      if (cleaner) {
        cleaner.malformed(lineNo);
        continue;
      }
      throw new DataError(`${path}:${lineNo}: ${cells.length} columns, expected ${header.length}`);
    }
    const values = cells.map((c) => (c === '' ? Number.NaN : Number(c)));
    const label = values[labelCol]!;
    const row = values.filter((_, c) => c !== labelCol);
    if (cleaner) {
      if (cleaner.offer(lineNo, row, label)) {
        xs.push(...row);
        ys.push(label);
      }
      continue;
    }
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new DataError(`${path}:${lineNo}: column "${header[bad]}" is not a finite number: "${cells[bad]}"`);
    if (!Number.isInteger(label) || label < 0 || label >= maxClasses) {
      throw new DataError(`${path}:${lineNo}: label ${cells[labelCol]} is not a class index in 0..${maxClasses - 1}`);
    }
    xs.push(...row);
    ys.push(label);
  }
  if (!header) throw new DataError(`${path} is empty (expected a header row)`);
  if (ys.length === 0)
    throw new DataError(cleaner ? `${path}: cleaning dropped every row (${formatCleanReport(cleaner.report())})` : `${path} has a header but no data rows`);
  const classes = opts.classes ?? ys.reduce((m, v) => Math.max(m, v), 0) + 1;
  return { dataset: { x: Float32Array.from(xs), y: Uint8Array.from(ys), size: ys.length, features, classes } };
}
