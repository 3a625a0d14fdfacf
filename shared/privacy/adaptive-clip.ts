import type { NoiseSource } from './noise.ts';
import { InvalidArgumentError } from '../errors.ts';

/**
 * Adaptive clipping to a target quantile (Andrew, Thakkar, McMahan and
 * Ramaswamy 2021, "Differentially Private Learning with Adaptive Clipping").
 *
 * Each round every participating client also reports the bit
 * b_k = 1[‖Δ_k‖ ≤ C] for the round's clip C. The coordinator releases
 * b̄ = (Σ_k (b_k − ½) + N(0, σ_b²))/(qN) + ½ — centring the bits makes the
 * sum's sensitivity ½, and the denominator is the expected count qN, as for the
 * updates — then moves the clip geometrically:
 *   C ← C · exp(−η_C · (b̄ − γ)),
 * which raises C when fewer than a γ fraction of updates fit and lowers it when
 * more do, so C tracks the γ-quantile of the update norms.
 *
 * Privacy: the bit query has noise multiplier 2σ_b and the update query z_Δ;
 * together they are one Gaussian mechanism with z = (z_Δ⁻² + (2σ_b)⁻²)^(−½)
 * (the paper's Theorem 1). Given the total z the user asks for (the one the
 * accountant uses), the updates get z_Δ = (z⁻² − (2σ_b)⁻²)^(−½), possible only
 * when 2σ_b > z. The paper suggests σ_b = qN/20.
 */

/** b_k = 1 when the update fits under the clip. */
export function clipIndicator(norm: number, clip: number): 0 | 1 {
  if (!(norm >= 0) || !Number.isFinite(norm)) throw new InvalidArgumentError(`update norm must be finite and ≥ 0 (got ${norm})`);
  return norm <= clip ? 1 : 0;
}

/** The paper's default noise on the bit count: σ_b = qN/20. */
export function defaultBitNoise(expectedClients: number): number {
  if (!(expectedClients > 0)) throw new InvalidArgumentError(`expected clients per round must be > 0 (got ${expectedClients})`);
  return expectedClients / 20;
}

/**
 * z_Δ = (z⁻² − (2σ_b)⁻²)^(−½): the noise multiplier left for the updates when
 * the bit count takes noise σ_b and the whole round must be worth z.
 * σ_b = 0 is refused too (noise-free bits are not private).
 */
export function updateNoiseMultiplier(z: number, bitNoise: number): number {
  if (!(z > 0) || !Number.isFinite(z)) throw new InvalidArgumentError(`noise multiplier z must be finite and > 0 (got ${z})`);
  if (!(bitNoise > 0) || !Number.isFinite(bitNoise)) throw new InvalidArgumentError(`bit noise σ_b must be finite and > 0 (got ${bitNoise})`);
  const rest = z ** -2 - (2 * bitNoise) ** -2;
  if (!(rest > 0)) {
    throw new InvalidArgumentError(
      `bit noise σ_b = ${bitNoise} is too small for z = ${z}: the clipped-count query alone (noise multiplier 2σ_b = ${2 * bitNoise}) ` +
        `would spend the whole privacy budget; adaptive clipping needs σ_b > z/2 = ${z / 2}`,
    );
  }
  return rest ** -0.5;
}

/** The noised fraction of updates that fit: (Σ(b_k − ½) + N(0, σ_b²))/(qN) + ½. σ_b = 0 only for tests. */
export function noisyQuantileEstimate(bits: readonly number[], expectedClients: number, bitNoise: number, source: NoiseSource): number {
  if (!(expectedClients > 0) || !Number.isFinite(expectedClients))
    throw new InvalidArgumentError(`expected clients per round must be finite and > 0 (got ${expectedClients})`);
  if (!(bitNoise >= 0) || !Number.isFinite(bitNoise)) throw new InvalidArgumentError(`bit noise σ_b must be finite and ≥ 0 (got ${bitNoise})`);
  let s = 0;
  bits.forEach((b, k) => {
    if (b !== 0 && b !== 1) throw new InvalidArgumentError(`clip indicator ${k} must be 0 or 1 (got ${b})`);
    s += b - 0.5;
  });
  const noise = bitNoise === 0 ? 0 : bitNoise * source.normal();
  return (s + noise) / expectedClients + 0.5;
}

/** C · exp(−η_C · (b̄ − γ)). */
export function nextClip(clip: number, quantileEstimate: number, targetQuantile: number, learningRate: number): number {
  if (!(clip > 0) || !Number.isFinite(clip)) throw new InvalidArgumentError(`clip must be finite and > 0 (got ${clip})`);
  if (!(targetQuantile > 0 && targetQuantile < 1)) throw new InvalidArgumentError(`target quantile must be in (0, 1) (got ${targetQuantile})`);
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new InvalidArgumentError(`clip learning rate must be finite and > 0 (got ${learningRate})`);
  if (!Number.isFinite(quantileEstimate)) throw new InvalidArgumentError(`quantile estimate must be finite (got ${quantileEstimate})`);
  return clip * Math.exp(-learningRate * (quantileEstimate - targetQuantile));
}

export interface AdaptiveClipOptions {
  readonly targetQuantile: number;
  readonly learningRate: number;
  readonly bitNoise: number;
  readonly expectedClients: number;
  readonly source: NoiseSource;
}

/**
 * One round of the clip update from the round's pre-clipping norms (measured
 * against `clip`, the clip this round used): returns the next round's clip and
 * the released estimate b̄.
 */
export function adaptClip(clip: number, norms: readonly number[], options: AdaptiveClipOptions): { clip: number; quantileEstimate: number } {
  const bits = norms.map((n) => clipIndicator(n, clip));
  const quantileEstimate = noisyQuantileEstimate(bits, options.expectedClients, options.bitNoise, options.source);
  return { clip: nextClip(clip, quantileEstimate, options.targetQuantile, options.learningRate), quantileEstimate };
}
