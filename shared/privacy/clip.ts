import { InvalidArgumentError } from '../errors.ts';
/**
 * Per-update L2 clipping: the step that bounds one client's influence (the
 * sensitivity) to the clip norm S.
 */

/** ‖v‖₂, accumulated in float64; throws on NaN or ±∞ anywhere in `v`. */
export function l2Norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) throw new InvalidArgumentError(`update holds a non-finite value at index ${i} (${x})`);
    s += x * x;
  }
  return Math.sqrt(s);
}

export interface Clipped {
  /** A new array: the input scaled by `scale`. */
  readonly clipped: Float32Array;
  /** ‖Δ‖₂ of the input, before clipping. */
  readonly norm: number;
  /** The factor applied: min(1, S/‖Δ‖), nudged down where float32 rounding would leave ‖clipped‖ above S. */
  readonly scale: number;
}

/**
 * Δ·min(1, S/‖Δ‖₂) as a new Float32Array, with the original norm. The result's
 * float64 norm is guaranteed ≤ S (rounding each coordinate to float32 can add
 * up to 2⁻²⁴ relative; where it does, the scale is shrunk by a few ulps).
 */
export function clipToNorm(delta: Float32Array, clip: number): Clipped {
  if (!(clip > 0) || !Number.isFinite(clip)) throw new InvalidArgumentError(`clip norm must be finite and > 0 (got ${clip})`);
  const norm = l2Norm(delta);
  if (norm <= clip) return { clipped: Float32Array.from(delta), norm, scale: 1 };
  let scale = clip / norm;
  const out = new Float32Array(delta.length);
  for (;;) {
    for (let i = 0; i < delta.length; i++) out[i] = delta[i]! * scale;
    if (l2Norm(out) <= clip) return { clipped: out, norm, scale };
    scale *= 1 - 2 ** -22;
  }
}
