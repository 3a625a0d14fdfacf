import { DataError } from '../errors.ts';

/**
 * Classification metrics: pure functions over typed arrays. Labels and predictions
 * are class indices 0..classes−1; probabilities are row-major [n × classes].
 * Empty input is an error, never a silent NaN.
 */
type Labels = ArrayLike<number>;

function checkPair(truth: Labels, predicted: Labels, what: string): number {
  if (truth.length === 0) throw new DataError(`${what}: no examples`);
  if (truth.length !== predicted.length) throw new DataError(`${what}: ${truth.length} labels but ${predicted.length} predictions`);
  return truth.length;
}

export function accuracy(truth: Labels, predicted: Labels): number {
  const n = checkPair(truth, predicted, 'accuracy');
  let correct = 0;
  for (let i = 0; i < n; i++) if (truth[i] === predicted[i]) correct++;
  return correct / n;
}

/** Share of rows whose true class is among the k highest probabilities (ties broken by lower index). */
export function topKAccuracy(truth: Labels, probabilities: ArrayLike<number>, classes: number, k: number): number {
  const n = truth.length;
  if (n === 0) throw new DataError('topKAccuracy: no examples');
  if (probabilities.length !== n * classes) throw new DataError(`topKAccuracy: ${probabilities.length} probabilities for ${n} rows of ${classes} classes`);
  if (!Number.isInteger(k) || k < 1 || k > classes) throw new DataError(`topKAccuracy: k must be in 1..${classes}, got ${k}`);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const p = probabilities[i * classes + truth[i]!]!;
    let above = 0;
    for (let c = 0; c < classes; c++) {
      const q = probabilities[i * classes + c]!;
      if (q > p || (q === p && c < truth[i]!)) above++;
    }
    if (above < k) hits++;
  }
  return hits / n;
}

/** counts[t][p]: how many rows of true class t were predicted as p. */
export function confusionMatrix(truth: Labels, predicted: Labels, classes: number): number[][] {
  const n = checkPair(truth, predicted, 'confusionMatrix');
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < n; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (t < 0 || t >= classes || p < 0 || p >= classes)
      throw new DataError(`confusionMatrix: row ${i} has label ${t} / prediction ${p} outside 0..${classes - 1}`);
    m[t]![p]!++;
  }
  return m;
}

export interface PrecisionRecallF1 {
  /** Per class; a class never predicted has precision 0, one never present has recall 0. */
  readonly perClass: { readonly precision: number; readonly recall: number; readonly f1: number; readonly support: number }[];
  readonly macro: { readonly precision: number; readonly recall: number; readonly f1: number };
  /** Micro averages pool the counts (for single-label data they equal accuracy). */
  readonly micro: { readonly precision: number; readonly recall: number; readonly f1: number };
  /** Averages weighted by each class's support. */
  readonly weighted: { readonly precision: number; readonly recall: number; readonly f1: number };
}

const f1Of = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));
const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

export function precisionRecallF1(truth: Labels, predicted: Labels, classes: number): PrecisionRecallF1 {
  const m = confusionMatrix(truth, predicted, classes);
  const n = truth.length;
  let tpAll = 0;
  const perClass = m.map((row, c) => {
    const tp = row[c]!;
    const support = row.reduce((s, x) => s + x, 0);
    const predictedAs = m.reduce((s, r) => s + r[c]!, 0);
    tpAll += tp;
    const precision = ratio(tp, predictedAs);
    const recall = ratio(tp, support);
    return { precision, recall, f1: f1Of(precision, recall), support };
  });
  // macro: over the classes that occur in the truth or the predictions (scikit-learn's default), so a
  // client whose rows hold 2 of 10 classes is not scored down for the 8 it never saw nor predicted
  const present = perClass.filter((x, c) => x.support > 0 || m.some((r) => r[c]! > 0));
  const mean = (key: 'precision' | 'recall' | 'f1') => present.reduce((s, x) => s + x[key], 0) / present.length;
  const weighted = (key: 'precision' | 'recall' | 'f1') => perClass.reduce((s, x) => s + x[key] * x.support, 0) / n;
  const micro = tpAll / n;
  return {
    perClass,
    macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') },
    micro: { precision: micro, recall: micro, f1: micro },
    weighted: { precision: weighted('precision'), recall: weighted('recall'), f1: weighted('f1') },
  };
}

/** Mean cross-entropy −log p(true class), probabilities clipped to [eps, 1]. */
export function logLoss(truth: Labels, probabilities: ArrayLike<number>, classes: number, eps = 1e-15): number {
  const n = truth.length;
  if (n === 0) throw new DataError('logLoss: no examples');
  if (probabilities.length !== n * classes) throw new DataError(`logLoss: ${probabilities.length} probabilities for ${n} rows of ${classes} classes`);
  let s = 0;
  for (let i = 0; i < n; i++) s -= Math.log(Math.min(1, Math.max(eps, probabilities[i * classes + truth[i]!]!)));
  return s / n;
}
