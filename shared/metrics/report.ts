import { DataError } from '../errors.ts';
import { accuracy, logLoss, precisionRecallF1 } from './classification.ts';
import { mae, mse, r2 } from './regression.ts';

/**
 * The metrics one client reports from federated evaluation, from a model's
 * softmax probabilities on its held-out rows. Every value is a plain number, so
 * the record travels in an `evaluateResult` and aggregates key by key.
 */
export interface EvaluationReport {
  readonly accuracy: number;
  /** Log loss: mean −log p(true class). */
  readonly loss: number;
  readonly precisionMacro: number;
  readonly recallMacro: number;
  readonly f1Macro: number;
  readonly precisionWeighted: number;
  readonly recallWeighted: number;
  readonly f1Weighted: number;
}

export const EVALUATION_METRICS = [
  'accuracy',
  'loss',
  'precisionMacro',
  'recallMacro',
  'f1Macro',
  'precisionWeighted',
  'recallWeighted',
  'f1Weighted',
] as const;

/** Predicted class per row: the highest probability, ties to the lower index. */
export function argmaxRows(probabilities: ArrayLike<number>, classes: number): Uint32Array {
  if (classes < 1 || probabilities.length % classes !== 0)
    throw new DataError(`argmaxRows: ${probabilities.length} probabilities do not make rows of ${classes} classes`);
  const n = probabilities.length / classes;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[i * classes + c]! > probabilities[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/** Accuracy, log loss, and macro / weighted precision, recall and F1 of `probabilities` (n × classes) against `labels`. */
export function evaluationReport(labels: ArrayLike<number>, probabilities: ArrayLike<number>, classes: number): EvaluationReport {
  if (probabilities.length !== labels.length * classes) {
    throw new DataError(`evaluationReport: ${probabilities.length} probabilities for ${labels.length} rows of ${classes} classes`);
  }
  const predicted = argmaxRows(probabilities, classes);
  const prf = precisionRecallF1(labels, predicted, classes);
  return {
    accuracy: accuracy(labels, predicted),
    loss: logLoss(labels, probabilities, classes),
    precisionMacro: prf.macro.precision,
    recallMacro: prf.macro.recall,
    f1Macro: prf.macro.f1,
    precisionWeighted: prf.weighted.precision,
    recallWeighted: prf.weighted.recall,
    f1Weighted: prf.weighted.f1,
  };
}

/** What a client reports from federated evaluation of a regression model; `r2` is absent when its targets are constant (undefined there). */
export interface RegressionReport {
  readonly mae: number;
  readonly mse: number;
  readonly rmse: number;
  readonly r2?: number;
}

/** MAE, MSE, RMSE and R² of `predicted` against `truth` (both row-major, every target value counted). */
export function regressionReport(truth: ArrayLike<number>, predicted: ArrayLike<number>): RegressionReport {
  const squared = mse(truth, predicted);
  const report = { mae: mae(truth, predicted), mse: squared, rmse: Math.sqrt(squared) };
  let constant = true;
  for (let i = 1; i < truth.length && constant; i++) constant = truth[i] === truth[0];
  return constant ? report : { ...report, r2: r2(truth, predicted) };
}
