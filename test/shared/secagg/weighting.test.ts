import { describe, expect, it } from 'vitest';
import { decodeSum, encode, encodingRange, fixedPoint, sumErrorBound, weightedInput, weightedMean } from '../../../shared/secagg/index.ts';

describe('example weighting under secure aggregation', () => {
  it('Σ[w·Δ, w] decodes to the example-weighted mean within e·(1 + C)/Ŵ; counts above W count as W', () => {
    const clip = 0.5;
    const deltas = [Float32Array.of(0.1, -0.2, 0.3), Float32Array.of(-0.4, 0.05, 0), Float32Array.of(0.25, 0.25, -0.25)];
    const counts = [10, 30, 500];
    const cap = 200;
    const fp = fixedPoint({ clip: encodingRange(clip, true), maxClients: 3, scale: 2 ** 10 });
    const sum = new Uint32Array(4);
    for (const [k, d] of deltas.entries()) {
      for (const [i, v] of encode(weightedInput(d, counts[k]!, cap), fp).encoded.entries()) sum[i] = (sum[i]! + v) >>> 0;
    }
    const { mean, bound } = weightedMean(decodeSum(sum, fp, 3), clip, sumErrorBound(fp, 3));
    const weights = counts.map((n) => Math.min(n, cap));
    const total = weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < 3; i++) {
      const exact = deltas.reduce((s, d, k) => s + d[i]! * weights[k]!, 0) / total;
      expect(Math.abs(mean[i]! - exact)).toBeLessThanOrEqual(bound);
    }
    expect(bound).toBeCloseTo(((3 / 2 ** 11) * 1.5) / (total / cap), 3);
    expect(encodingRange(0.5, true)).toBe(1);
    expect(encodingRange(0.5, false)).toBe(0.5);
  });
});
