import type { Dataset } from '../data/dataset.ts';
import { DataError } from '../errors.ts';
import { inputSize, isRegression, outputClasses, vocabulary } from '../models/registry.ts';
import type { ModelSpec } from '../models/spec.ts';

/**
 * Refuses data that does not fit `spec`, before any engine touches it: a feature
 * count other than the model's inputs, a class count other than a classifier's
 * outputs, targets for a classifier or labels for a regression model, or token inputs that are not ids in the model's vocabulary.
 */
export function checkData(spec: ModelSpec, ds: Dataset): void {
  const inputs = inputSize(spec);
  if (inputs !== ds.features) throw new DataError(`the model takes ${inputs} inputs but the data has ${ds.features} features`);
  const classes = outputClasses(spec);
  if (isRegression(spec)) {
    if (!ds.targets) throw new DataError('the model is a regression model (loss mse) but the data has class labels, no targets');
    if (classes !== ds.classes) throw new DataError(`the model predicts ${classes} values per row but the data has ${ds.classes} targets per row`);
  } else if (ds.targets && classes !== undefined) {
    throw new DataError('the data has real-valued targets (regression) but the model is a classifier: train an MLP with loss mse');
  } else if (classes !== undefined && classes !== ds.classes) throw new DataError(`the model predicts ${classes} classes but the data has ${ds.classes}`);
  const vocab = vocabulary(spec);
  if (vocab !== undefined) checkTokens(ds, vocab);
}

/** Datasets whose every value was found to be a token id below the recorded vocabulary size (checked once per dataset, not per task). */
const checkedTokens = new WeakMap<Float32Array, number>();

/** Token inputs must be whole numbers in [0, vocab): anything else would embed as a zero vector, silently. */
function checkTokens(ds: Dataset, vocab: number): void {
  const { x, features } = ds;
  if ((checkedTokens.get(x) ?? Infinity) <= vocab) return;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= vocab) {
      throw new DataError(`row ${Math.floor(i / features)}, step ${i % features}: token ${v} is not an id in 0..${vocab - 1}`);
    }
  }
  checkedTokens.set(x, vocab);
}
