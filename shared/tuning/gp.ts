import { InvalidArgumentError } from '../errors.ts';
/**
 * A Gaussian process regressor with a zero mean and a Matérn 5/2 kernel with
 * one length scale per input coordinate (ARD), for the Bayesian sampler. Inputs
 * are points of the unit cube; targets are expected standardised (mean 0, sd 1).
 * Dense Cholesky, O(n³) in the number of observations, which stays small here.
 */

export interface GPHyper {
  /** One per input coordinate. */
  readonly lengthScales: readonly number[];
  /** Prior variance of the latent function. */
  readonly signalVar: number;
  /** Observation noise variance. */
  readonly noiseVar: number;
}

export interface Prediction {
  readonly mean: number;
  /** Posterior variance of the latent function (observation noise not included), never negative. */
  readonly variance: number;
}

export interface GPModel {
  readonly hyper: GPHyper;
  /** Log marginal likelihood of the targets under `hyper`. */
  readonly logMarginalLikelihood: number;
  predict(x: readonly number[]): Prediction;
}

const SQRT5 = Math.sqrt(5);

/** Matérn 5/2 correlation at scaled distance r: (1 + √5 r + 5r²/3) e^(−√5 r). */
export function matern52(r: number): number {
  const s = SQRT5 * r;
  return (1 + s + (s * s) / 3) * Math.exp(-s);
}

/** The ARD-scaled distance between two points. */
export function scaledDistance(a: readonly number[], b: readonly number[], lengthScales: readonly number[]): number {
  let sum = 0;
  for (let d = 0; d < a.length; d++) {
    const t = (a[d]! - b[d]!) / lengthScales[d]!;
    sum += t * t;
  }
  return Math.sqrt(sum);
}

/** Lower Cholesky factor of the n×n row-major matrix A, or undefined when A is not (numerically) positive definite. */
export function cholesky(A: Float64Array, n: number): Float64Array | undefined {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) return undefined;
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j]!;
      }
    }
  }
  return L;
}

/**
 * Cholesky of A + jitter·I, starting with no jitter and growing it (relative to
 * the largest diagonal entry) until the factorisation succeeds.
 */
export function choleskyWithJitter(A: Float64Array, n: number): { L: Float64Array; jitter: number } {
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, Math.abs(A[i * n + i]!));
  const base = maxDiag > 0 ? maxDiag : 1;
  for (let jitter = 0; ; jitter = jitter === 0 ? base * 1e-10 : jitter * 10) {
    if (jitter > base) throw new InvalidArgumentError('matrix is not positive definite, even with jitter');
    const B = jitter === 0 ? A : A.map((v, idx) => (idx % (n + 1) === 0 ? v + jitter : v));
    const L = cholesky(B, n);
    if (L) return { L, jitter };
  }
}

/** Solves L z = b for lower-triangular L. */
export function solveLower(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * z[k]!;
    z[i] = s / L[i * n + i]!;
  }
  return z;
}

/** Solves Lᵀ z = b for lower-triangular L. */
export function solveUpper(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const z = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * z[k]!;
    z[i] = s / L[i * n + i]!;
  }
  return z;
}

/** The correlation matrix R (unit diagonal) of the inputs. */
function correlation(X: readonly (readonly number[])[], lengthScales: readonly number[]): Float64Array {
  const n = X.length;
  const R = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    R[i * n + i] = 1;
    for (let j = 0; j < i; j++) {
      const v = matern52(scaledDistance(X[i]!, X[j]!, lengthScales));
      R[i * n + j] = v;
      R[j * n + i] = v;
    }
  }
  return R;
}

function logDet(L: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += 2 * Math.log(L[i * n + i]!);
  return s;
}

/** Conditions the process on observations (X, y) under fixed hyperparameters. */
export function fitGP(X: readonly (readonly number[])[], y: readonly number[], hyper: GPHyper): GPModel {
  const n = X.length;
  if (y.length !== n) throw new InvalidArgumentError(`${n} inputs but ${y.length} targets`);
  const K = correlation(X, hyper.lengthScales);
  for (let i = 0; i < n * n; i++) K[i] = K[i]! * hyper.signalVar;
  for (let i = 0; i < n; i++) K[i * n + i] = K[i * n + i]! + hyper.noiseVar;
  const { L } = choleskyWithJitter(K, n);
  const alpha = solveUpper(L, n, solveLower(L, n, y));
  let fit = 0;
  for (let i = 0; i < n; i++) fit += y[i]! * alpha[i]!;
  const logMarginalLikelihood = -0.5 * fit - 0.5 * logDet(L, n) - 0.5 * n * Math.log(2 * Math.PI);
  const kStar = new Float64Array(n);
  return {
    hyper,
    logMarginalLikelihood,
    predict(x) {
      let mean = 0;
      for (let i = 0; i < n; i++) {
        kStar[i] = hyper.signalVar * matern52(scaledDistance(x, X[i]!, hyper.lengthScales));
        mean += kStar[i]! * alpha[i]!;
      }
      const v = solveLower(L, n, kStar);
      let explained = 0;
      for (let i = 0; i < n; i++) explained += v[i]! * v[i]!;
      return { mean, variance: Math.max(0, hyper.signalVar - explained) };
    },
  };
}

/** Length scales (in unit-cube coordinates) tried when fitting. */
export const LENGTH_SCALE_GRID: readonly number[] = [0.03, 0.06, 0.1, 0.15, 0.25, 0.4, 0.6, 1, 1.6, 2.5];
/** Noise-to-signal variance ratios tried when fitting. */
export const NOISE_RATIO_GRID: readonly number[] = [1e-6, 1e-4, 1e-2, 1e-1];

/**
 * Log marginal likelihood with the signal variance profiled out: for
 * K = σ²(R + gI) the best σ² is yᵀ(R + gI)⁻¹y / n, in closed form.
 */
function profiled(X: readonly (readonly number[])[], y: readonly number[], lengthScales: readonly number[], ratio: number): { lml: number; signalVar: number } {
  const n = X.length;
  const R = correlation(X, lengthScales);
  for (let i = 0; i < n; i++) R[i * n + i] = R[i * n + i]! + ratio;
  const { L } = choleskyWithJitter(R, n);
  const beta = solveUpper(L, n, solveLower(L, n, y));
  let q = 0;
  for (let i = 0; i < n; i++) q += y[i]! * beta[i]!;
  const signalVar = Math.max(q / n, 1e-12);
  return { lml: -0.5 * n * (Math.log(signalVar) + 1 + Math.log(2 * Math.PI)) - 0.5 * logDet(L, n), signalVar };
}

/**
 * Maximum-likelihood hyperparameters, found deterministically: the best shared
 * length scale and noise ratio on a grid, then `ardSweeps` passes that try each
 * grid length scale on one coordinate at a time and keep any that improve the
 * likelihood. Targets that are all equal carry no information: a broad default.
 */
export function fitHyperparameters(X: readonly (readonly number[])[], y: readonly number[], opts: { ardSweeps?: number } = {}): GPHyper {
  const dims = X[0]?.length ?? 0;
  const spread = y.reduce((m, v) => Math.max(m, Math.abs(v - y[0]!)), 0);
  if (X.length < 2 || spread === 0) return { lengthScales: new Array<number>(dims).fill(0.25), signalVar: 1, noiseVar: 1e-6 };
  let best = { lml: -Infinity, signalVar: 1, ratio: NOISE_RATIO_GRID[0]!, lengthScales: [] as number[] };
  for (const ell of LENGTH_SCALE_GRID) {
    const lengthScales = new Array<number>(dims).fill(ell);
    for (const ratio of NOISE_RATIO_GRID) {
      const r = profiled(X, y, lengthScales, ratio);
      if (r.lml > best.lml) best = { ...r, ratio, lengthScales };
    }
  }
  const sweeps = opts.ardSweeps ?? 2;
  for (let s = 0; s < sweeps && dims > 1; s++) {
    for (let d = 0; d < dims; d++) {
      for (const ell of LENGTH_SCALE_GRID) {
        if (ell === best.lengthScales[d]) continue;
        const lengthScales = best.lengthScales.slice();
        lengthScales[d] = ell;
        const r = profiled(X, y, lengthScales, best.ratio);
        if (r.lml > best.lml + 1e-9) best = { ...r, ratio: best.ratio, lengthScales };
      }
    }
  }
  return { lengthScales: best.lengthScales, signalVar: best.signalVar, noiseVar: best.signalVar * best.ratio };
}
