/**
 * Expected improvement, the acquisition the Bayesian sampler maximises, and the
 * standard normal functions it needs.
 */

/** Standard normal density. */
export function normPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Complementary error function (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal distribution function. */
export function normCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/**
 * E[max(f − best − xi, 0)] for f ~ N(mean, variance): how much a point is
 * expected to beat the best score so far (higher is better). `xi` ≥ 0 asks for
 * a margin, trading a little exploitation for exploration.
 */
export function expectedImprovement(mean: number, variance: number, best: number, xi = 0): number {
  const gain = mean - best - xi;
  const sd = Math.sqrt(Math.max(0, variance));
  if (sd < 1e-12) return Math.max(0, gain);
  const z = gain / sd;
  return Math.max(0, gain * normCdf(z) + sd * normPdf(z));
}
