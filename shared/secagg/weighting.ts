/**
 * Example weighting under secure aggregation. The coordinator only learns a sum, so a
 * weighted mean Σ n_k·Δ_k / Σ n_k needs both sums masked: each client sends
 * [w_k·Δ_k, w_k] with w_k = min(n_k, W) / W ∈ (0, 1] for a public cap W (a client with more
 * than W examples counts as W). Every coordinate stays in [−R, R] with R = max(C, 1), so the
 * fixed-point scale does not depend on the example counts, and the coordinator decodes
 *
 *   mean_i = Ŝ_i / Ŵ,   |mean_i − S_i / W| ≤ e·(1 + C) / Ŵ   with e = n/(2s)
 *
 * (S, W the exact sums, Ŝ, Ŵ the decoded ones, each within e; |S_i / W| ≤ C).
 */

/** The fixed-point range R for clip C: C itself, or at least 1 when a weight in (0, 1] travels too. */
export function encodingRange(clip: number, weighted: boolean): number {
  return weighted ? Math.max(clip, 1) : clip;
}

/** [w·Δ, w] with w = min(n, W) / W, for the clipped delta Δ of a client with n examples. */
export function weightedInput(clipped: Float32Array, numExamples: number, cap: number): Float64Array {
  const w = Math.min(numExamples, cap) / cap;
  const out = new Float64Array(clipped.length + 1);
  for (let i = 0; i < clipped.length; i++) out[i] = clipped[i]! * w;
  out[clipped.length] = w;
  return out;
}

/** Ŝ / Ŵ from the decoded sum of weighted inputs (its last word is Ŵ), with the bound above for sum error e. */
export function weightedMean(sum: Float64Array, clip: number, sumError: number): { mean: Float32Array; weight: number; bound: number } {
  const m = sum.length - 1;
  const weight = sum[m]!;
  const mean = new Float32Array(m);
  for (let i = 0; i < m; i++) mean[i] = sum[i]! / weight;
  return { mean, weight, bound: (sumError * (1 + clip)) / weight };
}
