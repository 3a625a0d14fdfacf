import { MAX_CLASSES, type Dataset } from '../shared/data/dataset.ts';
import { DataError } from '../shared/errors.ts';

export interface RowsOptions {
  /**
   * How many classes the task has; one more than the largest label when absent. Give it when
   * a client's rows may lack the highest classes, so its dataset agrees with the model's outputs.
   */
  readonly classes?: number;
}

/**
 * Rows in, labels out: a program's own examples as the Dataset a Trainer trains on. Every row
 * must have the same number of finite values and every label must be a class index in
 * [0, classes); anything else is a DataError naming the first bad row, found here rather than
 * as a shape error deep in an engine. The values are copied into SharedArrayBuffer-backed
 * arrays, which the engines and the simulation's worker threads read without copies.
 */
export function datasetFromRows(rows: readonly ArrayLike<number>[], labels: ArrayLike<number>, options: RowsOptions = {}): Dataset {
  const size = rows.length;
  if (size === 0) throw new DataError('no rows: a dataset needs at least one example');
  if (labels.length !== size) throw new DataError(`${size} rows but ${labels.length} labels: every row needs exactly one label`);
  const features = rows[0]!.length;
  if (features === 0) throw new DataError('row 0 has no values: a row needs at least one feature');
  const classes = options.classes ?? largestLabel(labels) + 1;
  if (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES)
    throw new DataError(`classes must be an integer from 1 to ${MAX_CLASSES}, got ${classes}`);
  const x = new Float32Array(new SharedArrayBuffer(size * features * 4));
  const y = new Uint8Array(new SharedArrayBuffer(size));
  for (let i = 0; i < size; i++) {
    const row = rows[i]!;
    if (row.length !== features) throw new DataError(`row ${i} has ${row.length} values, row 0 has ${features}: every row needs the same features`);
    for (let j = 0; j < features; j++) {
      const v = row[j]!;
      if (!Number.isFinite(v)) throw new DataError(`row ${i}, feature ${j} is ${v}, not a finite number`);
      x[i * features + j] = v;
    }
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= classes)
      throw new DataError(`row ${i} has label ${label}, not a class index from 0 to ${classes - 1}`);
    y[i] = label;
  }
  return { x, y, size, features, classes };
}

/** The largest label, for the default class count; a label that is no class index at all is left for the row check to name. */
function largestLabel(labels: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (Number.isInteger(label) && label < MAX_CLASSES && label > max) max = label;
  }
  return max;
}
