/**
 * Aggregation arithmetic: pure functions over typed arrays, no I/O, inputs
 * never mutated unless the name says so.
 */

/**
 * Σ w_k · v_k / Σ w_k, accumulated in float64 (so the result does not depend on
 * float32 rounding of partial sums) and returned as float32.
 */
export function weightedAverage(vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  if (vectors.length === 0) throw new RangeError('weightedAverage: no vectors');
  if (vectors.length !== weights.length) throw new RangeError(`weightedAverage: ${vectors.length} vectors but ${weights.length} weights`);
  const n = vectors[0]!.length;
  let total = 0;
  for (const [k, w] of weights.entries()) {
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weightedAverage: weight ${k} is ${w}, expected a finite number ≥ 0`);
    if (vectors[k]!.length !== n) throw new RangeError(`weightedAverage: vector ${k} has length ${vectors[k]!.length}, expected ${n}`);
    total += w;
  }
  if (total <= 0) throw new RangeError('weightedAverage: the weights sum to zero');
  const acc = new Float64Array(n);
  for (const [k, v] of vectors.entries()) addScaledInto(acc, v, weights[k]! / total);
  return Float32Array.from(acc);
}

/** acc += scale · v (mutates acc). */
export function addScaledInto(acc: Float64Array | Float32Array, v: Float32Array, scale: number): void {
  for (let i = 0; i < acc.length; i++) acc[i]! += scale * v[i]!;
}

