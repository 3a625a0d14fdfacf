import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clipToNorm, l2Norm } from '../../../shared/privacy/clip.ts';

describe('clipping', () => {
  it('l2 norm by hand, in float64', () => {
    expect(l2Norm(Float32Array.from([3, 4]))).toBe(5);
    expect(l2Norm(new Float32Array(0))).toBe(0);
    // 1e20² overflows float32 but not the float64 accumulator
    expect(l2Norm(Float32Array.from([1e20, 1e20]))).toBeCloseTo(Math.SQRT2 * 1.0000000200408773e20, -8);
    expect(() => l2Norm(Float32Array.from([1, Infinity]))).toThrow(/non-finite value at index 1/);
  });

  it('scales down by S/‖Δ‖ above the clip, copies unchanged below it', () => {
    const big = Float32Array.from([3, 4]);
    const c = clipToNorm(big, 1);
    expect(c.norm).toBe(5);
    expect(c.clipped[0]).toBeCloseTo(0.6, 6);
    expect(c.clipped[1]).toBeCloseTo(0.8, 6);
    expect(c.scale).toBeCloseTo(0.2, 6);
    expect(Array.from(big)).toEqual([3, 4]);
    const small = clipToNorm(Float32Array.from([0.3, 0.4]), 1);
    expect(small.scale).toBe(1);
    expect(Array.from(small.clipped)).toEqual(Array.from(Float32Array.from([0.3, 0.4])));
    expect(clipToNorm(new Float32Array(4), 1).norm).toBe(0);
    expect(() => clipToNorm(big, 0)).toThrow(/clip norm/);
    expect(() => clipToNorm(Float32Array.from([NaN]), 1)).toThrow(/non-finite/);
  });

  it('the clipped norm never exceeds S even after float32 rounding, and keeps the direction (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        (xs, S) => {
          const v = Float32Array.from(xs);
          const { clipped, norm, scale } = clipToNorm(v, S);
          const n = l2Norm(clipped);
          if (n > S) return false;
          if (norm > S && n < S * (1 - 1e-5)) return false; // not shrunk more than rounding needs
          return clipped.every((c, i) => Math.abs(c - v[i]! * scale) <= Math.abs(v[i]! * scale) * 2 ** -23 + 2 ** -149); // + one float32 subnormal step
        },
      ),
      { numRuns: 300 },
    );
  });
});
