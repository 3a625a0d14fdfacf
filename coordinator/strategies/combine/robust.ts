import { AggregationError, InvalidArgumentError } from '../../../shared/errors.ts';

/**
 * Aggregation rules that need every update at once (Byzantine-robust): pure
 * functions over typed arrays, inputs never mutated.
 */

function checkSame(vectors: readonly Float32Array[], what: string): number {
  if (vectors.length === 0) throw new InvalidArgumentError(`${what}: no vectors`);
  const n = vectors[0]!.length;
  for (const [k, v] of vectors.entries()) if (v.length !== n) throw new InvalidArgumentError(`${what}: vector ${k} has length ${v.length}, expected ${n}`);
  return n;
}

/** Coordinate-wise median (the mean of the two middle values for an even count). */
export function coordinateMedian(vectors: readonly Float32Array[]): Float32Array {
  const m = vectors.length;
  return perCoordinate(vectors, 'coordinateMedian', (c) => (m % 2 ? c[(m - 1) / 2]! : (c[m / 2 - 1]! + c[m / 2]!) / 2));
}

/**
 * Coordinate-wise trimmed mean: per coordinate, drop the ⌊β·n⌋ largest and smallest
 * values and average the rest (Yin et al. 2018).
 */
export function trimmedMean(vectors: readonly Float32Array[], beta: number): Float32Array {
  checkSame(vectors, 'trimmedMean');
  const m = vectors.length;
  const cut = Math.floor(beta * m);
  if (!(beta >= 0 && beta < 0.5) || 2 * cut >= m)
    throw new InvalidArgumentError(`trimmedMean: β = ${beta} trims ${2 * cut} of ${m} values, nothing would remain`);
  return perCoordinate(vectors, 'trimmedMean', (c) => {
    let s = 0;
    for (let k = cut; k < m - cut; k++) s += c[k]!;
    return s / (m - 2 * cut);
  });
}

/** out[i] = stat(the values at coordinate i, sorted ascending in float64); `stat` may not keep its argument. */
function perCoordinate(vectors: readonly Float32Array[], what: string, stat: (sorted: Float64Array) => number): Float32Array {
  const n = checkSame(vectors, what);
  const out = new Float32Array(n);
  const column = new Float64Array(vectors.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < vectors.length; k++) column[k] = vectors[k]![i]!;
    out[i] = stat(column.sort());
  }
  return out;
}

/**
 * Krum scores (Blanchard et al. 2017): for each update, the sum of squared distances
 * to its n − f − 2 nearest others. Requires n > 2f + 2; a round with fewer (clients
 * dropped out) is an AggregationError, which skips that round rather than ending the run.
 */
export function krumScores(vectors: readonly Float32Array[], f: number): number[] {
  const n = vectors.length;
  if (n <= 2 * f + 2) throw new AggregationError(`Krum with f = ${f} needs more than 2f + 2 = ${2 * f + 2} updates, got ${n}`);
  checkSame(vectors, 'krum');
  const d = Array.from({ length: n }, () => new Float64Array(n));
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let s = 0;
      const va = vectors[a]!;
      const vb = vectors[b]!;
      for (let i = 0; i < va.length; i++) {
        const diff = va[i]! - vb[i]!;
        s += diff * diff;
      }
      d[a]![b] = s;
      d[b]![a] = s;
    }
  }
  const neighbours = n - f - 2;
  return d.map((row, a) => {
    const others = Array.from(row)
      .filter((_, b) => b !== a)
      .sort((x, y) => x - y);
    return others.slice(0, neighbours).reduce((s, x) => s + x, 0);
  });
}

/** Indices of the `m` updates with the lowest Krum scores (ties broken by index). */
export function krumSelect(vectors: readonly Float32Array[], f: number, m: number): number[] {
  const scores = krumScores(vectors, f);
  return scores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .slice(0, m)
    .map(([, i]) => i);
}
