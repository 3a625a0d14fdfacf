import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logAdd, logErfc, logSub } from '../../../shared/privacy/log-math.ts';

describe('log erfc', () => {
  // erfc values to 16 digits (Abramowitz & Stegun table 7.1 extended; erfc(0) = 1 exactly)
  const known: [number, number][] = [
    [0, 1],
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028513],
    [2, 0.004677734981047266],
    [3, 2.209049699858544e-5],
    [5, 1.5374597944280349e-12],
    [10, 2.0884875837625446e-45],
    [-1, 1.8427007929497148],
    [-3, 1.9999779095030015],
  ];
  it.each(known)('erfc(%d) to 1e-14 relative', (x, v) => {
    expect(Math.abs(Math.exp(logErfc(x)) / v - 1)).toBeLessThan(1e-14);
  });

  it('stays finite where erfc underflows, following the asymptotic series', () => {
    for (const x of [30, 100, 1e4]) {
      // erfc(x) ~ e^{−x²}/(x√π)·(1 − 1/(2x²) + 3/(4x⁴))
      const asym = -x * x - Math.log(x * Math.sqrt(Math.PI)) + Math.log1p(-1 / (2 * x * x) + 3 / (4 * x ** 4));
      expect(Math.abs(logErfc(x) - asym)).toBeLessThan(1e-9 * Math.abs(asym));
    }
    expect(logErfc(Infinity)).toBe(-Infinity);
    expect(logErfc(-Infinity)).toBeCloseTo(Math.LN2, 15);
  });

  it('is continuous across the series / continued-fraction switch at 2 and non-increasing', () => {
    expect(Math.abs(logErfc(2 - 1e-12) - logErfc(2))).toBeLessThan(1e-10);
    fc.assert(fc.property(fc.double({ min: -6, max: 40, noNaN: true }), fc.double({ min: 1e-6, max: 1, noNaN: true }), (x, d) => logErfc(x + d) <= logErfc(x)));
  });
});

describe('log-space add and subtract', () => {
  it('agrees with direct arithmetic and handles log 0', () => {
    expect(logAdd(Math.log(2), Math.log(3))).toBeCloseTo(Math.log(5), 15);
    expect(logAdd(-Infinity, 1.5)).toBe(1.5);
    expect(logAdd(-Infinity, -Infinity)).toBe(-Infinity);
    expect(logAdd(1000, 1000)).toBeCloseTo(1000 + Math.LN2, 12);
    expect(logSub(Math.log(5), Math.log(3))).toBeCloseTo(Math.log(2), 15);
    expect(logSub(2, -Infinity)).toBe(2);
    expect(logSub(2, 2)).toBe(-Infinity);
    expect(() => logSub(1, 2)).toThrow(/negative/);
    // far apart: e^{800} − e^{−30} must not overflow through e^{830}
    expect(logSub(800, -30)).toBe(800);
    expect(logSub(1e-300, 0)).toBeCloseTo(Math.log(1e-300), 10);
  });
});
