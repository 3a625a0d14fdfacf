import { DataError } from '../errors.ts';

/** Regression metrics: pure functions over typed arrays; empty or mismatched input is an error. */
type Values = ArrayLike<number>;

function check(truth: Values, predicted: Values, what: string): number {
  if (truth.length === 0) throw new DataError(`${what}: no examples`);
  if (truth.length !== predicted.length) throw new DataError(`${what}: ${truth.length} targets but ${predicted.length} predictions`);
  return truth.length;
}

export function mae(truth: Values, predicted: Values): number {
  const n = check(truth, predicted, 'mae');
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(truth[i]! - predicted[i]!);
  return s / n;
}

export function mse(truth: Values, predicted: Values): number {
  const n = check(truth, predicted, 'mse');
  let s = 0;
  for (let i = 0; i < n; i++) s += (truth[i]! - predicted[i]!) ** 2;
  return s / n;
}

export function rmse(truth: Values, predicted: Values): number {
  return Math.sqrt(mse(truth, predicted));
}

/** Coefficient of determination 1 − SS_res / SS_tot; constant targets make it undefined (an error). */
export function r2(truth: Values, predicted: Values): number {
  const n = check(truth, predicted, 'r2');
  let mean = 0;
  for (let i = 0; i < n; i++) mean += truth[i]!;
  mean /= n;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    res += (truth[i]! - predicted[i]!) ** 2;
    tot += (truth[i]! - mean) ** 2;
  }
  if (tot === 0) throw new DataError('r2: the targets are constant, so R² is undefined');
  return 1 - res / tot;
}
