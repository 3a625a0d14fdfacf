import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../shared/rng.ts';
import { decode, encode, encodingOffsets, sampleAssignment } from '../../../shared/tuning/encoding.ts';
import { activeParams, assignmentKey, parseSearchSpace } from '../../../shared/tuning/space.ts';

const space = parseSearchSpace(
  {
    params: [
      { name: 'lr', type: 'float', low: 0.001, high: 0.5, log: true },
      { name: 'batch', type: 'int', low: 8, high: 128, log: true },
      { name: 'epochs', type: 'int', low: 1, high: 5 },
      { name: 'strategy', type: 'choice', values: ['fedavg', 'fedprox', 'fedavgm'] },
      { name: 'mu', type: 'float', low: 0.001, high: 1, log: true, when: { strategy: ['fedprox'] } },
      { name: 'model', type: 'choice', values: [{ type: 'mlp', hidden: [128] }, { type: 'cnn' }] },
      { name: 'w', type: 'float', low: -2, high: 3 },
    ],
  },
  's',
);

describe('unit-cube encoding', () => {
  it('lays out one coordinate per numeric param and one-hot blocks for choices', () => {
    expect(encodingOffsets(space)).toEqual({ offsets: [0, 1, 2, 3, 6, 7, 9], dims: 10 });
    const x = encode(space, { lr: 0.5, batch: 8, epochs: 3, strategy: 'fedavgm', model: { hidden: [128], type: 'mlp' }, w: -2 });
    // lr at the top of its range, epochs 3 in the middle slice of five, mu inactive at 0.5
    expect(x).toEqual([1, expect.closeTo(Math.log(8 / 7.5) / Math.log(128.5 / 7.5), 12), 0.5, 0, 0, 1, 0.5, 1, 0, 0]);
  });

  it('round-trips every assignment drawn from the prior (floats to 1e-12 relative, the rest exactly)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const a = sampleAssignment(space, mulberry32(seed));
        const x = encode(space, a);
        expect(x.every((v) => v >= 0 && v <= 1)).toBe(true);
        const b = decode(space, x);
        expect(Object.keys(b)).toEqual(Object.keys(a));
        for (const [k, v] of Object.entries(a)) {
          if (k === 'lr' || k === 'mu' || k === 'w')
            expect(Math.abs((b[k] as number) - (v as number))).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v as number)));
          else expect(b[k]).toEqual(v);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('decodes any point of the cube to a valid assignment that re-encodes to a fixed point', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 10 }), (x) => {
        const a = decode(space, x);
        expect(Object.keys(a)).toEqual(activeParams(space, a).map((p) => p.name));
        expect(Number.isInteger(a.batch) && (a.batch as number) >= 8 && (a.batch as number) <= 128).toBe(true);
        const snapped = encode(space, a);
        expect(assignmentKey(decode(space, snapped))).toBe(assignmentKey(a));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses assignments that do not fit the space', () => {
    const ok = { lr: 0.01, batch: 16, epochs: 2, strategy: 'fedavg', model: { type: 'cnn' }, w: 0 };
    expect(() => encode(space, { ...ok, strategy: 'fedprox' })).toThrow(/active param mu has no value/);
    expect(() => encode(space, { ...ok, epochs: 2.5 })).toThrow(/epochs must be an integer in \[1, 5\]/);
    expect(() => encode(space, { ...ok, lr: 1 })).toThrow(/lr must be a number/);
    expect(() => encode(space, { ...ok, model: 'rnn' })).toThrow(/model is not one of its values/);
    expect(() => decode(space, [0.5])).toThrow(/10 coordinates, got 1/);
  });
});

describe('prior draws', () => {
  const draws = Array.from({ length: 4000 }, (_, i) => sampleAssignment(space, mulberry32(i * 7919 + 1)));
  const frac = (pred: (a: Record<string, unknown>) => boolean, of = draws) => of.filter(pred).length / of.length;

  it('stay in range, respect conditions and give every int and choice its share', () => {
    for (const a of draws) {
      expect(a.lr as number).toBeGreaterThanOrEqual(0.001);
      expect(a.lr as number).toBeLessThanOrEqual(0.5);
      expect('mu' in a).toBe(a.strategy === 'fedprox');
    }
    for (let e = 1; e <= 5; e++) expect(frac((a) => a.epochs === e)).toBeCloseTo(0.2, 1);
    expect(frac((a) => a.strategy === 'fedavgm')).toBeCloseTo(1 / 3, 1);
  });

  it('are uniform on the log scale for log params (half of lr below the geometric midpoint)', () => {
    const mid = Math.sqrt(0.001 * 0.5);
    expect(frac((a) => (a.lr as number) < mid)).toBeCloseTo(0.5, 1);
    // on a linear scale only (mid - low) / (high - low) ≈ 3% would be
    expect(frac((a) => (a.lr as number) < 0.25)).toBeGreaterThan(0.85);
    expect(frac((a) => (a.batch as number) <= 32)).toBeCloseTo(Math.log(32.5 / 7.5) / Math.log(128.5 / 7.5), 1);
    expect(frac((a) => (a.w as number) < 0.5)).toBeCloseTo(0.5, 1);
  });
});
