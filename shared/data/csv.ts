import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DataError } from '../errors.ts';
import type { Dataset } from './dataset.ts';

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
      throw new DataError(`${path}:${lineNo}: ${cells.length} columns, expected ${header.length}`);
    }
    for (let c = 0; c < cells.length; c++) {
      const v = Number(cells[c]);
      if (cells[c] === '' || !Number.isFinite(v)) {
        throw new DataError(`${path}:${lineNo}: column "${header[c]}" is not a finite number: "${cells[c]}"`);
      }
      if (c === labelCol) {
        if (!Number.isInteger(v) || v < 0 || v >= maxClasses) {
          throw new DataError(`${path}:${lineNo}: label ${cells[c]} is not a class index in 0..${maxClasses - 1}`);
        }
        ys.push(v);
      } else xs.push(v);
    }
  }
  if (!header) throw new DataError(`${path} is empty (expected a header row)`);
  if (ys.length === 0) throw new DataError(`${path} has a header but no data rows`);
  const classes = opts.classes ?? ys.reduce((m, v) => Math.max(m, v), 0) + 1;
  return { x: Float32Array.from(xs), y: Uint8Array.from(ys), size: ys.length, features, classes };
}
