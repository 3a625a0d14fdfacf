import { InvalidArgumentError } from '../errors.ts';
/**
 * Log-space arithmetic for the privacy accountant: sums and differences of
 * numbers held as their logarithms, and log erfc without underflow. Written
 * here (no numerics library) so every step of ε can be read and tested.
 */

/** log(eˣ + eʸ) without overflow; −∞ is the log of 0. */
export function logAdd(x: number, y: number): number {
  const hi = Math.max(x, y);
  const lo = Math.min(x, y);
  if (hi === -Infinity) return -Infinity;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** log(eˣ − eʸ) for x ≥ y; throws when the difference would be negative. */
export function logSub(x: number, y: number): number {
  if (y === -Infinity) return x;
  if (x < y) throw new InvalidArgumentError(`logSub: e^${x} − e^${y} is negative`);
  if (x === y) return -Infinity;
  // x + log(1 − e^{y−x}); expm1 of the (negative) gap keeps precision when the
  // two are close and cannot overflow when they are far apart
  return x + Math.log(-Math.expm1(y - x));
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/**
 * log erf(x)·e^{x²}·… — the series erf(x) = 2/√π·e^{−x²}·Σₙ 2ⁿx^{2n+1}/(1·3·…·(2n+1)),
 * all of whose terms are positive (no cancellation); used for 0 ≤ x < 2.
 */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  const x2 = 2 * x * x;
  for (let n = 0; n < 500; n++) {
    term *= x2 / (2 * n + 3);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/**
 * log of the continued fraction K(x) in erfc(x) = e^{−x²}/√π · K(x),
 * K = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), by the modified Lentz method;
 * converges quickly for x ≥ 2.
 */
function logErfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = f;
  let d = 0;
  for (let n = 1; n < 10_000; n++) {
    const a = n / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    d = 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -x * x - LOG_SQRT_PI - Math.log(f);
}

/**
 * log erfc(x) for every real x, accurate to about 1e-14 relative and finite far
 * into the tail (log erfc(30) ≈ −904.3, where erfc itself underflows).
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x === -Infinity) return Math.LN2;
  if (x >= 2) return logErfcContinuedFraction(x);
  if (x >= 0) return Math.log1p(-erfSeries(x));
  // erfc(−y) = 2 − erfc(y)
  const y = -x;
  const erfcY = y >= 2 ? Math.exp(logErfcContinuedFraction(y)) : 1 - erfSeries(y);
  return Math.LN2 + Math.log1p(-erfcY / 2);
}
