import { mulberry32, permutation } from '../rng.ts';
import { InvalidArgumentError } from '../errors.ts';

export interface SplitOptions {
  /** Fraction of the rows for validation, in [0, 1). */
  readonly validation: number;
  /** Fraction of the rows for test, in [0, 1). */
  readonly test: number;
  /** Split each class separately, so every split keeps the class proportions. */
  readonly stratified: boolean;
  readonly seed: number;
}

export interface SplitRows {
  readonly train: Uint32Array;
  readonly validation: Uint32Array;
  readonly test: Uint32Array;
}

/**
 * A seeded train/validation/test split of row indices. Within each group (one per
 * class when stratified, else all rows) the rows are shuffled; the first
 * round(validation·n) go to validation, the next round(test·n) to test, the rest to
 * train. Each split lists its rows in row order; the same seed gives the same split.
 */
export function splitRows(labels: ArrayLike<number>, classes: number, options: SplitOptions): SplitRows {
  for (const [name, f] of [
    ['validation', options.validation],
    ['test', options.test],
  ] as const) {
    if (!(f >= 0 && f < 1)) throw new InvalidArgumentError(`the ${name} fraction must be in [0, 1), got ${f}`);
  }
  if (!(options.validation + options.test < 1))
    throw new InvalidArgumentError(`validation + test must leave rows to train on, got ${options.validation} + ${options.test}`);
  const rng = mulberry32(options.seed);
  const where = new Uint8Array(labels.length); // 0 train, 1 validation, 2 test
  const groups: number[][] = options.stratified ? Array.from({ length: classes }, () => []) : [[]];
  for (let i = 0; i < labels.length; i++) {
    const g = options.stratified ? labels[i]! : 0;
    if (!(g >= 0 && g < groups.length)) throw new InvalidArgumentError(`label ${labels[i]} of row ${i} is not a class index in 0..${classes - 1}`);
    groups[g]!.push(i);
  }
  for (const rows of groups) {
    const order = permutation(rows.length, rng);
    const v = Math.round(options.validation * rows.length);
    const t = Math.round(options.test * rows.length);
    for (let k = 0; k < v + t && k < rows.length; k++) where[rows[order[k]!]!] = k < v ? 1 : 2;
  }
  const out: number[][] = [[], [], []];
  for (let i = 0; i < labels.length; i++) out[where[i]!]!.push(i);
  return { train: Uint32Array.from(out[0]!), validation: Uint32Array.from(out[1]!), test: Uint32Array.from(out[2]!) };
}
