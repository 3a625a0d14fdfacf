import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DataError } from '../errors.ts';
import { MAX_CLASSES, type Dataset } from './dataset.ts';
import { formatCleanReport, RowCleaner, type CleanOptions, type CleanReport } from './clean.ts';
import { GrowableFloat32 } from './growable.ts';

export interface CsvOptions {
  /** Name of the header column that holds the label. */
  readonly label: string;
  /**
   * For integer labels: the number of classes; a label outside 0..classes-1 is an error.
   * When absent, labels may be 0..255 and the count is the largest label + 1.
   */
  readonly classes?: number;
  /**
   * The class names in index order: each label cell must be one of them, by its text. When
   * absent, labels that are all numbers are class indices, and any other labels make the
   * classes the file's distinct labels, sorted.
   */
  readonly classNames?: readonly string[];
  /**
   * Refuse to take the class names from this file alone: one client's file cannot say the
   * run's class order (a class it lacks would shift every index after it).
   */
  readonly namesMustBeDeclared?: boolean;
  /** Expected number of feature columns (the model's input size), checked against the header. */
  readonly features?: number;
  /**
   * `regression`: the label column is a real-valued target (a finite number per row), read
   * into the dataset's `targets`; classes and class names do not apply. Classification by default.
   */
  readonly task?: 'classification' | 'regression';
}

/** A CSV file read: its rows as a Dataset, its feature columns' names and, with named labels, the classes in index order. */
export interface CsvData {
  readonly dataset: Dataset;
  readonly columns: readonly string[];
  readonly classNames?: readonly string[];
}

/**
 * Streams a CSV file with a header row into a Dataset. Every non-label column is a
 * numeric feature; the label is a class index or a class name (CsvOptions.classNames).
 * A malformed row fails with its line number and the reason.
 */
export async function loadCsv(path: string, opts: CsvOptions): Promise<Dataset> {
  return (await readCsv(path, opts)).dataset;
}

/**
 * Like loadCsv, but a row with a missing or non-numeric value, a value outside
 * `range`, a label outside the classes, a wrong column count, or the same content as
 * an earlier row is dropped instead of failing the load; the report says which rows
 * were dropped, why, and on which lines.
 */
export async function loadCsvCleaned(path: string, opts: CsvOptions & CleanOptions): Promise<CsvData & { report: CleanReport }> {
  const cleaner = new RowCleaner({ ...opts, realLabels: opts.task === 'regression' });
  const data = await readCsv(path, opts, cleaner);
  return { ...data, report: cleaner.report() };
}

/** The rows as read, before labels become classes: a label's class set needs every row first. */
interface RawRows {
  readonly header: string[];
  readonly labelCol: number;
  /** Per data row: its line, and its label cell; NaN-filled features for a malformed row. */
  readonly lines: number[];
  readonly labels: (string | undefined)[];
  readonly features: GrowableFloat32;
}

/** Reads a CSV file in one pass (streamed): `cleaner` set, bad rows are kept for it to drop; unset, the first one fails. */
export async function readCsv(path: string, opts: CsvOptions, cleaner?: RowCleaner): Promise<CsvData> {
  const raw = await readRows(path, opts, cleaner !== undefined);
  const columns = raw.header.filter((_, c) => c !== raw.labelCol);
  const strict = cleaner === undefined;
  if (opts.task === 'regression') {
    const { x, labels } = keptRows(path, raw, columns, cleaner, (text, line) => {
      const value = text === '' ? Number.NaN : Number(text);
      if (strict && !Number.isFinite(value)) throw new DataError(`${path}:${line}: the target column "${opts.label}" is not a finite number: "${text}"`);
      return { value };
    });
    return { dataset: targetDataset(x, labels, columns.length), columns };
  }
  const names = classNamesOf(path, raw, opts);
  const index = names ? new Map(names.map((n, i) => [n, i])) : undefined;
  const maxClasses = opts.classes ?? MAX_CLASSES;
  const { x, labels } = keptRows(path, raw, columns, cleaner, (text, line) => {
    const value = text === '' ? Number.NaN : index ? (index.get(text) ?? Number.NaN) : Number(text);
    const unknown = index !== undefined && text !== '' && !index.has(text) ? text : undefined;
    if (strict) {
      if (unknown !== undefined) throw new DataError(`${path}:${line}: label "${text}" is not one of the classes (${names!.join(', ')})`);
      if (text === '') throw new DataError(`${path}:${line}: the label column "${opts.label}" is empty`);
      if (!index && (!Number.isInteger(value) || value < 0 || value >= maxClasses)) {
        throw new DataError(`${path}:${line}: label ${text} is not a class index in 0..${maxClasses - 1}`);
      }
    }
    return { value, unknown };
  });
  const classes = names ? names.length : (opts.classes ?? labels.reduce((m, v) => Math.max(m, v), 0) + 1);
  const dataset = { x, y: Uint8Array.from(labels), size: labels.length, features: columns.length, classes };
  return { dataset, columns, ...(names ? { classNames: names } : {}) };
}

/** A label cell's value (NaN for none), and its text when it names no class; a strict read throws here instead. */
type LabelOf = (text: string, line: number) => { value: number; unknown?: string };

/**
 * The rows a dataset keeps, in file order, with their label values: a malformed row or one the
 * cleaner refuses is dropped (and reported by it); without a cleaner, `labelOf` fails the read.
 */
function keptRows(
  path: string,
  raw: RawRows,
  columns: readonly string[],
  cleaner: RowCleaner | undefined,
  labelOf: LabelOf,
): { x: Float32Array; labels: number[] } {
  const f = columns.length;
  const xs = new GrowableFloat32(path);
  const labels: number[] = [];
  for (let r = 0; r < raw.lines.length; r++) {
    const line = raw.lines[r]!;
    const text = raw.labels[r];
    if (text === undefined) {
      cleaner?.malformed(line, `${raw.header.length} columns expected`);
      continue;
    }
    const row = raw.features.view(r * f, (r + 1) * f);
    const { value, unknown } = labelOf(text, line);
    if (cleaner && !cleaner.offer(line, row, value, { columns, labelText: unknown })) continue;
    for (const v of row) xs.push(v);
    labels.push(value);
  }
  if (labels.length === 0)
    throw new DataError(cleaner ? `${path}: cleaning dropped every row (${formatCleanReport(cleaner.report())})` : `${path} has a header but no data rows`);
  return { x: xs.toArray(), labels };
}

/** A regression dataset: each row's target in `targets` (one per row); `y` all zeros and `classes` 1, the width of a target row. */
function targetDataset(x: Float32Array, values: readonly number[], features: number): Dataset {
  const targets = new Float32Array(new SharedArrayBuffer(values.length * 4));
  targets.set(values);
  return { x, y: new Uint8Array(new SharedArrayBuffer(values.length)), size: values.length, features, classes: 1, targets };
}

async function readRows(path: string, opts: CsvOptions, lenient: boolean): Promise<RawRows> {
  if (!existsSync(path)) throw new DataError(`data file ${path} does not exist`);
  const input = createReadStream(path, 'utf8');
  const lines = createInterface({ input, crlfDelay: Infinity });
  let raw: RawRows | undefined;
  let lineNo = 0;
  try {
    for await (const text of lines) {
      lineNo++;
      const line = text.trim();
      if (line === '') continue;
      const cells = line.split(',').map((c) => c.trim());
      if (!raw) {
        raw = headerOf(path, lineNo, cells, opts);
        continue;
      }
      const width = raw.header.length - 1;
      raw.lines.push(lineNo);
      if (cells.length !== raw.header.length) {
        if (!lenient) throw new DataError(`${path}:${lineNo}: ${cells.length} columns, expected ${raw.header.length}`);
        raw.labels.push(undefined);
        for (let k = 0; k < width; k++) raw.features.push(Number.NaN);
        continue;
      }
      raw.labels.push(cells[raw.labelCol]!);
      for (let c = 0; c < cells.length; c++) {
        if (c === raw.labelCol) continue;
        const v = cells[c] === '' ? Number.NaN : Number(cells[c]);
        if (!lenient && !Number.isFinite(v)) throw new DataError(`${path}:${lineNo}: column "${raw.header[c]}" is not a finite number: "${cells[c]}"`);
        raw.features.push(v);
      }
    }
  } finally {
    input.destroy();
  }
  if (!raw) throw new DataError(`${path} is empty (expected a header row)`);
  if (raw.lines.length === 0) throw new DataError(`${path} has a header but no data rows`);
  return raw;
}

function headerOf(path: string, lineNo: number, header: string[], opts: CsvOptions): RawRows {
  const labelCol = header.indexOf(opts.label);
  if (labelCol < 0) throw new DataError(`${path}:${lineNo}: no column named "${opts.label}" in the header (${header.join(', ')})`);
  const features = header.length - 1;
  if (opts.features !== undefined && features !== opts.features) {
    throw new DataError(`${path}: ${features} feature columns, but the model expects ${opts.features}`);
  }
  return { header, labelCol, lines: [], labels: [], features: new GrowableFloat32(path) };
}

/**
 * The class names, in index order: the declared ones; none when every label is a number
 * (class indices); else the distinct labels, sorted (by UTF-16 code unit, the same order
 * on every machine).
 */
function classNamesOf(path: string, raw: RawRows, opts: CsvOptions): readonly string[] | undefined {
  if (opts.classNames) return opts.classNames;
  const present = raw.labels.filter((l): l is string => l !== undefined && l !== '');
  const named = present.find((l) => !Number.isFinite(Number(l)));
  if (named === undefined) return undefined;
  if (opts.namesMustBeDeclared) {
    throw new DataError(
      `${path}: the labels in column "${opts.label}" are names (e.g. "${named}"): give the run's classes in order with --classes a,b,c ` +
        '(the same list on every client, so each name means the same class everywhere)',
    );
  }
  const names = [...new Set(present)].sort();
  // a label is one byte: more names would wrap around onto other classes
  if (names.length > MAX_CLASSES) {
    throw new DataError(`${path}: column "${opts.label}" holds ${names.length} distinct labels; a classifier here has at most ${MAX_CLASSES} classes`);
  }
  return names;
}
