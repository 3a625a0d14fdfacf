import { DataError, InvalidArgumentError } from '../errors.ts';
import { deriveSeed } from '../rng.ts';
import { viewSize, type DatasetView } from './dataset.ts';
import { splitRows } from './split.ts';

/** A client's own rows, cut into those it trains on and those it only evaluates on. */
export interface LocalSplit {
  readonly train: DatasetView;
  readonly holdout: DatasetView;
}

/**
 * Holds out a stratified, seeded fraction (0, 0.5] of the rows of `view` for local
 * evaluation (splitRows over the view's labels); the two views are disjoint and
 * together are the view's rows. Fails when either side would be empty.
 */
export function localHoldout(view: DatasetView, fraction: number, seed: number): LocalSplit {
  if (!(fraction > 0 && fraction <= 0.5)) throw new InvalidArgumentError(`the local validation fraction must be in (0, 0.5], got ${fraction}`);
  const n = viewSize(view);
  const { y, classes } = view.dataset;
  const rowOf = (i: number) => (view.indices ? view.indices[i]! : i);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = y[rowOf(i)]!;
  const rows = splitRows(labels, classes, { validation: fraction, test: 0, stratified: true, seed });
  if (rows.validation.length === 0) {
    throw new DataError(
      `a local validation fraction of ${fraction} holds out no rows of this client's ${n} (each class rounds to 0); use a larger fraction or more data`,
    );
  }
  if (rows.train.length === 0) throw new DataError(`a local validation fraction of ${fraction} leaves none of this client's ${n} rows to train on`);
  const map = (local: Uint32Array) => local.map(rowOf);
  return { train: { dataset: view.dataset, indices: map(rows.train) }, holdout: { dataset: view.dataset, indices: map(rows.validation) } };
}

/**
 * The seed of a client's hold-out: from the run seed and its shard number (1-based;
 * 0 for a client whose data is its own file), so `client --shard k/N` holds out the
 * same rows as simulated client k.
 */
export function localHoldoutSeed(seed: number, shard: number): number {
  return deriveSeed(seed, 0x10ca1, shard);
}
