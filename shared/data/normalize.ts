import { ConfigError, DataError } from '../errors.ts';
import { viewSize, type Dataset, type DatasetView } from './dataset.ts';

export type NormalizeKind = 'minmax' | 'zscore';

/**
 * Per-feature statistics fitted on one split: a value v becomes (v − offset) / scale.
 * min-max: offset = min, scale = max − min (values of the fitted split land in [0, 1]);
 * z-score: offset = mean, scale = standard deviation. A constant feature gets scale 1,
 * so it maps to 0 instead of dividing by zero.
 */
export interface Normalizer {
  readonly kind: NormalizeKind;
  readonly offset: Float64Array;
  readonly scale: Float64Array;
}

export function parseNormalizeKind(text: string): NormalizeKind {
  if (text === 'minmax' || text === 'zscore') return text;
  throw new ConfigError(`--normalize must be minmax or zscore, got "${text}"`);
}

/** Fits the statistics on the rows of `view` only (the training split), never on the rows it will later be applied to. */
export function fitNormalizer(kind: NormalizeKind, view: DatasetView): Normalizer {
  const { dataset: ds } = view;
  const n = viewSize(view);
  if (n === 0) throw new DataError('cannot fit a normalizer on an empty split');
  const f = ds.features;
  const a = new Float64Array(f).fill(kind === 'minmax' ? Infinity : 0);
  const b = new Float64Array(f).fill(kind === 'minmax' ? -Infinity : 0);
  for (let r = 0; r < n; r++) {
    const row = (view.indices ? view.indices[r]! : r) * f;
    for (let k = 0; k < f; k++) {
      const v = ds.x[row + k]!;
      if (kind === 'minmax') {
        if (v < a[k]!) a[k] = v;
        if (v > b[k]!) b[k] = v;
      } else {
        // Welford's update: a holds the running mean, b the sum of squared deviations
        const d = v - a[k]!;
        a[k]! += d / (r + 1);
        b[k]! += d * (v - a[k]!);
      }
    }
  }
  const scale = new Float64Array(f);
  for (let k = 0; k < f; k++) {
    const s = kind === 'minmax' ? b[k]! - a[k]! : Math.sqrt(b[k]! / n);
    scale[k] = s > 1e-12 ? s : 1;
  }
  return { kind, offset: a, scale };
}

/** A new dataset with every row normalized; labels and shape are kept, the input is not modified. */
export function applyNormalizer(n: Normalizer, ds: Dataset): Dataset {
  if (n.offset.length !== ds.features) throw new DataError(`the normalizer was fitted on ${n.offset.length} features, this dataset has ${ds.features}`);
  const x = new Float32Array(new SharedArrayBuffer(ds.x.length * 4));
  const f = ds.features;
  for (let i = 0; i < ds.x.length; i++) {
    const k = i % f;
    x[i] = (ds.x[i]! - n.offset[k]!) / n.scale[k]!;
  }
  return { ...ds, x };
}
