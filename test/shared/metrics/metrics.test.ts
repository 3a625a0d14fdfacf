import { describe, expect, it } from 'vitest';
import { accuracy, confusionMatrix, logLoss, mae, mse, precisionRecallF1, r2, rmse, topKAccuracy } from '../../../shared/metrics/index.ts';

describe('classification metrics against hand-computed values', () => {
  // truth and predictions over 3 classes; class 2 is never predicted
  const truth = Uint8Array.of(0, 0, 1, 1, 1, 2);
  const pred = Uint8Array.of(0, 1, 1, 1, 0, 1);

  it('accuracy and the confusion matrix', () => {
    expect(accuracy(truth, pred)).toBeCloseTo(3 / 6, 12);
    expect(confusionMatrix(truth, pred, 3)).toEqual([
      [1, 1, 0],
      [1, 2, 0],
      [0, 1, 0],
    ]);
  });

  it('precision, recall, F1 per class and macro / micro / weighted; a class never predicted scores 0', () => {
    const r = precisionRecallF1(truth, pred, 3);
    // class 0: tp 1, predicted 2, support 2 → p 0.5, r 0.5; class 1: tp 2, predicted 4, support 3 → p 0.5, r 2/3; class 2: p 0 (never predicted), r 0
    expect(r.perClass[0]).toMatchObject({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    expect(r.perClass[1]!.precision).toBeCloseTo(0.5, 12);
    expect(r.perClass[1]!.recall).toBeCloseTo(2 / 3, 12);
    expect(r.perClass[1]!.f1).toBeCloseTo((2 * 0.5 * (2 / 3)) / (0.5 + 2 / 3), 12);
    expect(r.perClass[2]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(r.macro.precision).toBeCloseTo(1 / 3, 12);
    expect(r.macro.recall).toBeCloseTo((0.5 + 2 / 3) / 3, 12);
    expect(r.micro.f1).toBeCloseTo(0.5, 12);
    expect(r.weighted.recall).toBeCloseTo((2 * 0.5 + 3 * (2 / 3) + 0) / 6, 12);
  });

  it('top-k accuracy and log loss', () => {
    const probs = Float32Array.of(0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.5, 0.4, 0.1);
    const y = Uint8Array.of(0, 1, 2);
    expect(topKAccuracy(y, probs, 3, 1)).toBeCloseTo(1 / 3, 12);
    expect(topKAccuracy(y, probs, 3, 2)).toBeCloseTo(2 / 3, 12);
    expect(topKAccuracy(y, probs, 3, 3)).toBe(1);
    expect(logLoss(y, probs, 3)).toBeCloseTo(-(Math.log(0.7) + Math.log(Math.fround(0.3)) + Math.log(Math.fround(0.1))) / 3, 6);
  });

  it('empty or mismatched input is a clear error', () => {
    expect(() => accuracy([], [])).toThrow(/accuracy: no examples/);
    expect(() => accuracy([1], [1, 2])).toThrow(/1 labels but 2 predictions/);
    expect(() => confusionMatrix([0, 3], [0, 0], 3)).toThrow(/row 1 has label 3/);
    expect(() => topKAccuracy([0], [1, 0], 2, 3)).toThrow(/k must be in 1..2/);
    expect(() => logLoss([0], [1], 2)).toThrow(/1 probabilities for 1 rows of 2 classes/);
  });
});

describe('regression metrics against hand-computed values', () => {
  const y = Float64Array.of(3, -0.5, 2, 7);
  const p = Float64Array.of(2.5, 0, 2, 8);
  it('MAE, MSE, RMSE, R²', () => {
    expect(mae(y, p)).toBeCloseTo(0.5, 12);
    expect(mse(y, p)).toBeCloseTo(0.375, 12);
    expect(rmse(y, p)).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(r2(y, p)).toBeCloseTo(0.9486081370449679, 12); // scikit-learn's documented example
  });
  it('empty input and constant targets are clear errors', () => {
    expect(() => mae([], [])).toThrow(/mae: no examples/);
    expect(() => r2([1, 1], [1, 2])).toThrow(/targets are constant/);
  });
});
