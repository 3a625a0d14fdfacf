import { describe, expect, it } from 'vitest';
import { argmaxRows, evaluationReport } from '../../../shared/metrics/report.ts';

describe('evaluation report', () => {
  it('macro averages run over the classes present in the labels or predictions (a client holding 2 of 10 classes)', () => {
    const labels = [0, 0, 1, 1, 1];
    const perfect = labels.flatMap((l) => Array.from({ length: 10 }, (_, c) => (c === l ? 1 : 0)));
    const r = evaluationReport(labels, perfect, 10);
    expect(r).toMatchObject({ accuracy: 1, precisionMacro: 1, recallMacro: 1, f1Macro: 1 });
    // predicting class 7 for one row of class 1 brings class 7 in: precision 0 there, recall of class 1 falls to 2/3
    const wrong = perfect.slice();
    wrong[2 * 10 + 1] = 0;
    wrong[2 * 10 + 7] = 1;
    const w = evaluationReport(labels, wrong, 10);
    expect(w.precisionMacro).toBeCloseTo((1 + 1 + 0) / 3, 12);
    expect(w.recallMacro).toBeCloseTo((1 + 2 / 3) / 3, 12);
  });

  it('scores probabilities against labels with hand-computed values', () => {
    // 4 rows, 2 classes; predictions 0, 1, 1, 0 against truth 0, 1, 0, 0
    const probs = Float32Array.of(0.8, 0.2, 0.4, 0.6, 0.3, 0.7, 0.5, 0.5);
    const r = evaluationReport(Uint8Array.of(0, 1, 0, 0), probs, 2);
    expect(r.accuracy).toBe(0.75);
    expect(r.loss).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6) + Math.log(0.3) + Math.log(0.5)) / 4, 6);
    // class 0: tp 2, predicted 2, support 3 → p 1, r 2/3, f1 0.8; class 1: tp 1, predicted 2, support 1 → p 0.5, r 1, f1 2/3
    expect(r.precisionMacro).toBeCloseTo(0.75, 12);
    expect(r.recallMacro).toBeCloseTo((2 / 3 + 1) / 2, 12);
    expect(r.f1Macro).toBeCloseTo((0.8 + 2 / 3) / 2, 6);
    expect(r.precisionWeighted).toBeCloseTo((3 * 1 + 1 * 0.5) / 4, 12);
    expect(r.recallWeighted).toBeCloseTo(0.75, 12);
    expect(r.f1Weighted).toBeCloseTo((3 * 0.8 + 2 / 3) / 4, 6);
  });

  it('ties go to the lower class; mismatched sizes are refused', () => {
    expect(Array.from(argmaxRows(Float32Array.of(0.5, 0.5, 0.1, 0.9), 2))).toEqual([0, 1]);
    expect(() => evaluationReport(Uint8Array.of(0, 1), Float32Array.of(0.5, 0.5), 2)).toThrow(/2 probabilities for 2 rows of 2 classes/);
  });
});
