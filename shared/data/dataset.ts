/**
 * A labelled dataset in row-major typed arrays.
 * `x` holds `size * features` floats; `y` holds one class index per row.
 * All may be backed by a SharedArrayBuffer so worker threads read them without copies.
 */
export interface Dataset {
  readonly x: Float32Array;
  readonly y: Uint8Array;
  readonly size: number;
  readonly features: number;
  /** A classifier's class count; for regression the width of a target row (`y` is then all zeros). */
  readonly classes: number;
  /**
   * Regression: the real-valued targets, `size * classes` floats (one row of `classes` per example).
   * Absent for classification. Every copy of rows carries them, so code that sizes buffers
   * n × classes works for both tasks.
   */
  readonly targets?: Float32Array;
}

/** Labels are stored one byte per row (`y`): no dataset, and no model trained on one, has more classes. */
export const MAX_CLASSES = 256;

/** A view of some rows of a dataset, by index (a client's shard, a split). */
export interface DatasetView {
  readonly dataset: Dataset;
  /** Row indices into `dataset`; all rows when absent. */
  readonly indices?: Uint32Array;
}

export function viewSize(view: DatasetView): number {
  return view.indices ? view.indices.length : view.dataset.size;
}

/** Copies the given rows into a new dataset backed by a SharedArrayBuffer. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const n = indices.length;
  const x = new Float32Array(new SharedArrayBuffer(n * ds.features * 4));
  const y = new Uint8Array(new SharedArrayBuffer(n));
  const w = ds.classes;
  const targets = ds.targets ? new Float32Array(new SharedArrayBuffer(n * w * 4)) : undefined;
  for (let i = 0; i < n; i++) {
    const r = indices[i]!;
    x.set(ds.x.subarray(r * ds.features, (r + 1) * ds.features), i * ds.features);
    y[i] = ds.y[r]!;
    if (targets) targets.set(ds.targets!.subarray(r * w, (r + 1) * w), i * w);
  }
  return { x, y, size: n, features: ds.features, classes: ds.classes, ...(targets ? { targets } : {}) };
}

/** Counts of each label among the rows of a view. */
export function labelCounts(view: DatasetView): number[] {
  const counts = new Array<number>(view.dataset.classes).fill(0);
  const { y } = view.dataset;
  if (view.indices) for (const i of view.indices) counts[y[i]!]!++;
  else for (let i = 0; i < y.length; i++) counts[y[i]!]!++;
  return counts;
}
