import { logAdd, logErfc, logSub } from './log-math.ts';
import { InvalidArgumentError } from '../errors.ts';

/**
 * Rényi differential privacy of the sampled Gaussian mechanism (Mironov, Talwar
 * and Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
 * Mechanism"): each record is included with probability q, the sum of the
 * included (sensitivity-1) values gets N(0, z²). Its RDP at order α is
 * log(A_α)/(α − 1) with A_α = E_{x∼N(0,z²)}[((1−q) + q·e^{(2x−1)/(2z²)})^α].
 * Integer α: the exact binomial expansion (§3.3); fractional α: the two-sided
 * series of §3.3 (TF-Privacy's `_compute_log_a_frac`). Everything in log space.
 */

function checkArgs(q: number, z: number, order: number): void {
  if (!(q >= 0 && q <= 1)) throw new InvalidArgumentError(`sampling rate q must be in [0, 1] (got ${q})`);
  if (!(z >= 0) || !Number.isFinite(z)) throw new InvalidArgumentError(`noise multiplier z must be finite and ≥ 0 (got ${z})`);
  if (!(order > 1) || !Number.isFinite(order)) throw new InvalidArgumentError(`RDP order α must be finite and > 1 (got ${order})`);
}

/** log A_α for integer α ≥ 2: A_α = Σᵢ C(α,i)·qⁱ(1−q)^{α−i}·e^{(i²−i)/(2z²)}. */
export function logAInteger(q: number, z: number, order: number): number {
  if (!Number.isInteger(order) || order < 2) throw new InvalidArgumentError(`logAInteger needs an integer order ≥ 2 (got ${order})`);
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  let logA = -Infinity;
  let logBinom = 0; // log C(α, 0)
  for (let i = 0; i <= order; i++) {
    if (i > 0) logBinom += Math.log((order - i + 1) / i);
    const j = order - i;
    // 0·log 0 is 0 here (q = 1 or q = 0 at the ends of the sum)
    const term = logBinom + (i === 0 ? 0 : i * logQ) + (j === 0 ? 0 : j * log1mQ) + (i * i - i) / (2 * z * z);
    logA = logAdd(logA, term);
  }
  return logA;
}

/**
 * log A_α for fractional α > 1 (0 < q < 1): with z₀ = z²·log(1/q − 1) + ½,
 * A_α = Σ_{i≥0} C(α,i)·[qⁱ(1−q)^{α−i}·e^{(i²−i)/(2z²)}·½erfc((i−z₀)/(√2z))
 *                      + q^{α−i}(1−q)ⁱ·e^{((α−i)²−(α−i))/(2z²)}·½erfc((z₀−(α−i))/(√2z))],
 * summed until both terms fall below e^{−30}; the generalised binomial
 * coefficients C(α,i) change sign past i > α, so negative terms are subtracted.
 */
export function logAFractional(q: number, z: number, order: number): number {
  if (!(q > 0 && q < 1)) throw new InvalidArgumentError(`logAFractional needs 0 < q < 1 (got ${q})`);
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const z0 = z * z * Math.log(1 / q - 1) + 0.5;
  const sqrt2z = Math.SQRT2 * z;
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  let logAbsBinom = 0; // log |C(α, 0)|
  let sign = 1;
  for (let i = 0; i < 100_000; i++) {
    if (i > 0) {
      const ratio = (order - i + 1) / i; // C(α,i) = C(α,i−1)·(α−i+1)/i
      if (ratio < 0) sign = -sign;
      logAbsBinom += Math.log(Math.abs(ratio));
    }
    const j = order - i;
    const logT0 = logAbsBinom + i * logQ + j * log1mQ;
    const logT1 = logAbsBinom + j * logQ + i * log1mQ;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / sqrt2z);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / sqrt2z);
    const logS0 = logT0 + (i * i - i) / (2 * z * z) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * z * z) + logE1;
    if (sign > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) return logAdd(logA0, logA1);
  }
  throw new InvalidArgumentError(`the RDP series for q = ${q}, z = ${z}, α = ${order} did not converge`);
}

/** RDP ε(α) of one step of the sampled Gaussian mechanism with rate q and noise multiplier z. */
export function sampledGaussianRdp(q: number, z: number, order: number): number {
  checkArgs(q, z, order);
  if (q === 0) return 0;
  if (z === 0) return Infinity;
  if (q === 1) return order / (2 * z * z); // the plain Gaussian mechanism
  const logA = Number.isInteger(order) ? logAInteger(q, z, order) : logAFractional(q, z, order);
  // A_α ≥ 1 in exact arithmetic; rounding can leave a hair below 0
  return Math.max(0, logA / (order - 1));
}

/** RDP of `steps` compositions at each order: RDP adds up over steps. */
export function sampledGaussianRdpCurve(q: number, z: number, steps: number, orders: readonly number[]): number[] {
  if (!Number.isInteger(steps) || steps < 0) throw new InvalidArgumentError(`steps must be a whole number ≥ 0 (got ${steps})`);
  return orders.map((a) => steps * sampledGaussianRdp(q, z, a));
}
