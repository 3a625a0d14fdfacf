import { SecAggError } from '../errors.ts';

/**
 * Fixed-point encoding of a (clipped) float delta into integers mod 2^32, so masks can be
 * added in Z_{2^32} and the coordinator only ever sums.
 *
 *   encode:  q_i = round(clamp(x_i, −R, R) · s), stored as q_i mod 2^32 (two's complement)
 *   decode:  Σ_u q_u interpreted as an int32, divided by s
 *
 * The bound. Each coordinate's rounding error is at most 1/(2s), so the decoded sum of n
 * encodings differs from the float sum of the (clamped) inputs by at most n/(2s) per
 * coordinate. The int32 reading is exact as long as |Σ q_u| ≤ n·(R·s + 1/2) < 2^31, which
 * fixedPoint() enforces for the largest n the round admits; the default scale is the
 * largest power of two that satisfies it (a power of two makes x·s and the final division
 * exact in float64, so the rounding is the only error). A delta clipped to L2 norm ≤ C has
 * every coordinate in [−C, C], so R = C never clamps it.
 */
export interface FixedPoint {
  /** R: every coordinate is clamped to [−R, R] before encoding. */
  readonly clip: number;
  /** s: the quantization step is 1/s. */
  readonly scale: number;
  /** The most encodings that may be summed without overflow. */
  readonly maxClients: number;
}

const INT32_LIMIT = 2 ** 31;

function overflows(clip: number, scale: number, clients: number): boolean {
  return clients * (clip * scale + 0.5) >= INT32_LIMIT;
}

/** Parameters for clip R and at most `maxClients` summands; a given `scale` that could overflow is refused. */
export function fixedPoint(options: { clip: number; maxClients: number; scale?: number }): FixedPoint {
  const { clip, maxClients } = options;
  if (!(Number.isFinite(clip) && clip > 0)) throw new SecAggError('E_SECAGG_INVALID', `fixed-point clip R must be a positive finite number, not ${clip}`);
  if (!Number.isInteger(maxClients) || maxClients < 1)
    throw new SecAggError('E_SECAGG_INVALID', `fixed-point maxClients must be a positive integer, not ${maxClients}`);
  // the largest s with n·(R·s + 1/2) < 2^31
  const limit = (INT32_LIMIT / maxClients - 0.5) / clip;
  if (options.scale === undefined) {
    const scale = 2 ** Math.floor(Math.log2(limit));
    const safe = overflows(clip, scale, maxClients) ? scale / 2 : scale;
    if (!(safe >= 1))
      throw new SecAggError('E_SECAGG_INVALID', `no scale ≥ 1 fits R = ${clip} and n = ${maxClients} in 32 bits: n·(R·s + 1/2) must stay below 2^31`);
    return { clip, maxClients, scale: safe };
  }
  const { scale } = options;
  if (!(Number.isFinite(scale) && scale > 0)) throw new SecAggError('E_SECAGG_INVALID', `fixed-point scale must be a positive finite number, not ${scale}`);
  if (overflows(clip, scale, maxClients)) {
    throw new SecAggError(
      'E_SECAGG_INVALID',
      `fixed-point scale ${scale} could overflow: n·(R·s + 1/2) = ${maxClients}·(${clip}·${scale} + 0.5) ≥ 2^31, ` +
        `so the sum of ${maxClients} encodings would not fit an int32; use a scale below ${limit}`,
    );
  }
  return { clip, maxClients, scale };
}

/** The largest per-coordinate difference between decodeSum() of `clients` encodings and the float sum of the clamped inputs. */
export function sumErrorBound(fp: FixedPoint, clients: number): number {
  return clients / (2 * fp.scale);
}

/**
 * x as uint32 words; `clipped` counts the coordinates clamped to ±R. Non-finite values are refused.
 *
 * Each word is Math.round(v·s) mod 2^32, computed as ⌊q + 1/2⌋ with its one float pitfall
 * corrected, and stored through an Int32Array: Math.round and a store of a negative double
 * into a Uint32Array each cost V8 a slow path, which made encoding 2–3× slower than this.
 * |q| ≤ R·s < 2^31 (fixedPoint() guarantees it), so the int32 store is exact.
 */
export function encode(x: ArrayLike<number>, fp: FixedPoint): { encoded: Uint32Array; clipped: number } {
  const { clip, scale } = fp;
  const words = new Int32Array(x.length);
  let clipped = 0;
  for (let i = 0; i < x.length; i++) {
    let v = x[i]!;
    // v − v is 0 for every finite v, NaN for NaN and ±Infinity
    if (v - v !== 0) throw new SecAggError('E_SECAGG_INVALID', `coordinate ${i} is ${v}: only finite values can be encoded`);
    if (v > clip) {
      v = clip;
      clipped++;
    } else if (v < -clip) {
      v = -clip;
      clipped++;
    }
    const q = v * scale;
    let r = Math.floor(q + 0.5);
    // q + 1/2 rounded up to an integer it does not reach (q just below k − 1/2, e.g. 0.49999999999999994): Math.round(q) is one less
    if (r - 0.5 > q) r -= 1;
    words[i] = r;
  }
  return { encoded: new Uint32Array(words.buffer), clipped };
}

/** The float sum from the mod-2^32 sum of `clients` encodings. */
export function decodeSum(sum: Uint32Array, fp: FixedPoint, clients: number): Float64Array {
  if (!Number.isInteger(clients) || clients < 0 || clients > fp.maxClients) {
    throw new SecAggError(
      'E_SECAGG_INVALID',
      `a sum of ${clients} encodings cannot be decoded with parameters for at most ${fp.maxClients} clients (it may have overflowed)`,
    );
  }
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i]! | 0) / fp.scale;
  return out;
}
