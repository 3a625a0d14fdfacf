import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSum, encode, fixedPoint, sumErrorBound } from '../../../shared/secagg/fixed-point.ts';

describe('fixed-point encoding mod 2^32', () => {
  it('chooses the largest power-of-two scale with n·(R·s + 1/2) < 2^31', () => {
    const fp = fixedPoint({ clip: 1, maxClients: 100 });
    expect(fp.scale).toBe(2 ** 24); // 2^31/100 ≈ 2^24.4
    expect(100 * (fp.scale + 0.5)).toBeLessThan(2 ** 31);
    expect(100 * (2 * fp.scale + 0.5)).toBeGreaterThanOrEqual(2 ** 31);
  });

  it('refuses parameters that could overflow, with the bound in the message', () => {
    expect(() => fixedPoint({ clip: 1, maxClients: 100, scale: 2 ** 25 })).toThrow(/could overflow: n·\(R·s \+ 1\/2\) = 100·\(1·33554432 \+ 0.5\) ≥ 2\^31/);
    expect(() => fixedPoint({ clip: 2 ** 31, maxClients: 2 })).toThrow(/no scale ≥ 1 fits/);
    expect(() => fixedPoint({ clip: 0, maxClients: 2 })).toThrow(/clip R must be a positive/);
    expect(() => encode([0, Number.NaN], fixedPoint({ clip: 1, maxClients: 2 }))).toThrow(/coordinate 1 is NaN/);
    expect(() => decodeSum(new Uint32Array(1), fixedPoint({ clip: 1, maxClients: 2 }), 3)).toThrow(/at most 2 clients/);
  });

  it('round-trips one value within 1/(2s) and clamps to [−R, R], counting what it clamped', () => {
    const fp = fixedPoint({ clip: 0.5, maxClients: 10 });
    const x = [0, 0.1234567, -0.4999, 0.5, -0.5, 0.75, -3];
    const { encoded, clipped } = encode(x, fp);
    expect(clipped).toBe(2);
    const back = decodeSum(encoded, fp, 1);
    const clamped = x.map((v) => Math.max(-0.5, Math.min(0.5, v)));
    for (const [i, v] of back.entries()) expect(Math.abs(v - clamped[i]!)).toBeLessThanOrEqual(1 / (2 * fp.scale));
    expect(encoded[4]).toBe((-0.5 * fp.scale) >>> 0); // two's complement
  });

  it('the decoded mod-2^32 sum of n encodings is the float sum within n/(2s), even at ±R for the largest n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0.01, max: 100, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 }), (n, clip, seed) => {
        const fp = fixedPoint({ clip, maxClients: n });
        let s = seed;
        const rand = () => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          return (s / 2 ** 32) * 2 - 1;
        };
        const m = 16;
        const xs = Array.from({ length: n }, (_, u) =>
          Float64Array.from({ length: m }, (_, i) => (i === 0 ? clip : i === 1 ? -clip : u === 0 && i === 2 ? 0.5 / fp.scale : rand() * clip)),
        );
        const sum = new Uint32Array(m);
        for (const x of xs) {
          const { encoded } = encode(x, fp);
          for (let i = 0; i < m; i++) sum[i] = (sum[i]! + encoded[i]!) >>> 0;
        }
        const decoded = decodeSum(sum, fp, n);
        const bound = sumErrorBound(fp, n);
        for (let i = 0; i < m; i++) {
          const exact = xs.reduce((a, x) => a + x[i]!, 0);
          expect(Math.abs(decoded[i]! - exact)).toBeLessThanOrEqual(bound * (1 + 1e-9));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('each word is Math.round(v·s) mod 2^32 exactly, at the halves and just below them included', () => {
    const fp = fixedPoint({ clip: 4, maxClients: 3 });
    const s = fp.scale;
    const hard = [0.49999999999999994, 0.5, 1.5, 2.5, 1.4999999999999998, 1e-300, 0, 3 * s + 0.5].flatMap((q) => [q / s, -q / s]);
    const random = Float64Array.from({ length: 20_000 }, (_, i) => Math.sin(i * 12.9898) * (i % 2 ? 4.5 : 4.5e-6));
    for (const x of [Float64Array.from(hard), random, Float32Array.from(random)]) {
      const { encoded, clipped } = encode(x, fp);
      let outside = 0;
      for (let i = 0; i < x.length; i++) {
        const v = Math.max(-fp.clip, Math.min(fp.clip, x[i]!));
        if (v !== x[i]) outside++;
        expect(encoded[i]).toBe(Math.round(v * s) >>> 0);
      }
      expect(clipped).toBe(outside);
    }
    for (const bad of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(() => encode([0, 0, bad], fp)).toThrow(/coordinate 2 is -?Infinity/);
  });
});
