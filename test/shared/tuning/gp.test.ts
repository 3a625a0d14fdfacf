import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../shared/rng.ts';
import { expectedImprovement, normCdf } from '../../../shared/tuning/acquisition.ts';
import { cholesky, choleskyWithJitter, fitGP, fitHyperparameters, matern52, solveLower, solveUpper } from '../../../shared/tuning/gp.ts';

describe('linear algebra', () => {
  it('factors a symmetric positive definite matrix: L·Lᵀ = A, and solves with it', () => {
    const A = Float64Array.from([4, 12, -16, 12, 37, -43, -16, -43, 98]);
    // the textbook example: L = [[2,0,0],[6,1,0],[-8,5,3]]
    expect([...cholesky(A, 3)!]).toEqual([2, 0, 0, 6, 1, 0, -8, 5, 3]);
    const L = cholesky(A, 3)!;
    const x = solveUpper(L, 3, solveLower(L, 3, [1, 2, 3]));
    for (let i = 0; i < 3; i++) expect(A[i * 3]! * x[0]! + A[i * 3 + 1]! * x[1]! + A[i * 3 + 2]! * x[2]!).toBeCloseTo([1, 2, 3][i]!, 9);
  });

  it('adds the least jitter that makes a singular matrix factor', () => {
    const ones = Float64Array.from([1, 1, 1, 1]);
    expect(cholesky(ones, 2)).toBeUndefined();
    const { L, jitter } = choleskyWithJitter(ones, 2);
    expect(jitter).toBeGreaterThan(0);
    expect(jitter).toBeLessThan(1e-6);
    expect(L.every(Number.isFinite)).toBe(true);
    expect(choleskyWithJitter(Float64Array.from([2, 0, 0, 3]), 2).jitter).toBe(0);
  });
});

describe('Gaussian process posterior', () => {
  it('matches the one-point case by hand: mean m(r)·y, variance σ²(1 − m(r)²), m(1) = (1 + √5 + 5/3)e^−√5 ≈ 0.523994', () => {
    expect(matern52(0)).toBe(1);
    expect(matern52(1)).toBeCloseTo(0.523994, 6);
    const gp = fitGP([[0.2]], [2], { lengthScales: [0.5], signalVar: 1.5, noiseVar: 0 });
    const at = gp.predict([0.7]); // distance 0.5 = one length scale
    expect(at.mean).toBeCloseTo(2 * 0.523994, 5);
    expect(at.variance).toBeCloseTo(1.5 * (1 - 0.523994 ** 2), 5);
    expect(gp.predict([0.2]).mean).toBeCloseTo(2, 9);
    expect(gp.predict([0.2]).variance).toBeCloseTo(0, 9);
    // far away: back to the prior
    expect(gp.predict([50]).mean).toBeCloseTo(0, 9);
    expect(gp.predict([50]).variance).toBeCloseTo(1.5, 9);
  });

  it('interpolates noise-free observations with variance ~0 at them and more between them', () => {
    const X = [[0], [0.25], [0.5], [0.8], [1]];
    const y = [0.3, -1.2, 0.9, 0.1, -0.4];
    const gp = fitGP(X, y, { lengthScales: [0.3], signalVar: 1, noiseVar: 1e-10 });
    X.forEach((x, i) => {
      expect(gp.predict(x).mean).toBeCloseTo(y[i]!, 5);
      expect(gp.predict(x).variance).toBeLessThan(1e-6);
    });
    expect(gp.predict([0.65]).variance).toBeGreaterThan(1e-3);
    expect(Number.isFinite(gp.logMarginalLikelihood)).toBe(true);
  });

  it('fits a longer length scale to a slow function than to a fast one, and per coordinate to the one that matters', () => {
    const rng = mulberry32(4);
    const X = Array.from({ length: 30 }, () => [rng(), rng()]);
    const slow = fitHyperparameters(
      X,
      X.map(([a]) => Math.sin(2 * a!)),
    );
    const fast = fitHyperparameters(
      X,
      X.map(([a]) => Math.sin(25 * a!)),
    );
    expect(slow.lengthScales[0]!).toBeGreaterThan(fast.lengthScales[0]!);
    // the targets ignore the second coordinate: ARD stretches it
    expect(fast.lengthScales[1]!).toBeGreaterThan(fast.lengthScales[0]!);
  });

  it('stays finite when every target is equal or points coincide', () => {
    const X = [
      [0.1, 0.1],
      [0.1, 0.1],
      [0.9, 0.4],
    ];
    const hyper = fitHyperparameters(X, [0, 0, 0]);
    const gp = fitGP(X, [0, 0, 0], hyper);
    const p = gp.predict([0.5, 0.5]);
    expect(Number.isFinite(p.mean) && Number.isFinite(p.variance)).toBe(true);
    const dup = fitGP(X, [1, 1, -1], fitHyperparameters(X, [1, 1, -1]));
    expect(Number.isFinite(dup.predict([0.1, 0.1]).mean)).toBe(true);
  });
});

describe('expected improvement', () => {
  it('is σφ(0) at the incumbent, the gain when certain, and grows with the mean and the spread', () => {
    expect(normCdf(0)).toBeCloseTo(0.5, 7);
    expect(normCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normCdf(-3)).toBeCloseTo(0.0013499, 6);
    expect(expectedImprovement(0, 1, 0)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 6);
    expect(expectedImprovement(0, 4, 0)).toBeCloseTo(2 / Math.sqrt(2 * Math.PI), 6);
    expect(expectedImprovement(1.5, 0, 1)).toBe(0.5);
    expect(expectedImprovement(0.5, 0, 1)).toBe(0);
    expect(expectedImprovement(0.2, 1, 0)).toBeGreaterThan(expectedImprovement(0, 1, 0));
    expect(expectedImprovement(0, 1, 0, 0.5)).toBeLessThan(expectedImprovement(0, 1, 0));
  });
});
