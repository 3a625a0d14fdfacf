import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIELD_PRIME, invmod, mulmod, reconstruct, split, type Share } from '../../../shared/secagg/shamir.ts';
import { seededRandom } from './harness.ts';

const secretArb = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('Shamir sharing over GF(2^31 − 1)', () => {
  it('mulmod and invmod agree with BigInt arithmetic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: FIELD_PRIME - 1 }), fc.integer({ min: 1, max: FIELD_PRIME - 1 }), (a, b) => {
        expect(mulmod(a, b)).toBe(Number((BigInt(a) * BigInt(b)) % BigInt(FIELD_PRIME)));
        expect(mulmod(b, invmod(b))).toBe(1);
      }),
    );
    expect(mulmod(FIELD_PRIME - 1, FIELD_PRIME - 1)).toBe(1);
  });

  it('any t of n shares reconstruct the secret, in any order', () => {
    fc.assert(
      fc.property(
        secretArb,
        fc.integer({ min: 2, max: 12 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.integer({ min: 1, max: n }),
            fc.shuffledSubarray(
              [...Array(n).keys()].map((i) => i + 1),
              { minLength: n, maxLength: n },
            ),
          ),
        ),
        (secret, [n, t, order]) => {
          const shares = split(
            secret,
            t,
            [...Array(n).keys()].map((i) => i + 1),
          );
          const chosen = order.slice(0, t).map((x) => shares[x - 1]!);
          expect([...reconstruct(chosen, t)]).toEqual([...secret]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('x-coordinates can be any client indices, not only 1..n', () => {
    const secret = new Uint8Array(32).map((_, i) => 255 - i);
    const shares = split(secret, 3, [7, 1000, 123_456_789, FIELD_PRIME - 1]);
    expect([...reconstruct([shares[3]!, shares[0]!, shares[2]!], 3)]).toEqual([...secret]);
  });

  it('t − 1 shares do not give the secret: interpolating them yields something else (or an inconsistency error) w.h.p.', () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 2, max: 10 }), (secret, t) => {
        const shares = split(
          secret,
          t,
          [...Array(t + 2).keys()].map((i) => i + 1),
        );
        let got: number[] | 'inconsistent';
        try {
          got = [...reconstruct(shares.slice(0, t - 1), t - 1 === 0 ? 1 : t - 1)];
        } catch (e) {
          expect((e as Error).message).toMatch(/inconsistent/);
          got = 'inconsistent';
        }
        expect(got).not.toEqual([...secret]);
      }),
      { numRuns: 200 },
    );
  });

  it('t − 1 shares are distributed the same whatever the secret (chi-square on one share limb over many splits)', () => {
    // for two very different secrets, the first limb of party 1's share (t = 3) must look uniform in GF(p) either way
    const random = seededRandom('shamir-uniformity');
    const bins = 16;
    const runs = 3200;
    for (const fill of [0x00, 0xff]) {
      const counts = new Array<number>(bins).fill(0);
      const secret = new Uint8Array(32).fill(fill);
      for (let r = 0; r < runs; r++) {
        const y = split(secret, 3, [1, 2, 3], random)[0]!.y[0]!;
        counts[Math.floor((y / FIELD_PRIME) * bins)]!++;
      }
      const expected = runs / bins;
      const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
      expect(chi2).toBeLessThan(37.7); // χ²(15) at p = 0.001
    }
  });

  it('refuses too few shares, duplicate x, bad thresholds and malformed shares with clear errors', () => {
    const secret = new Uint8Array(32).fill(7);
    const shares = split(secret, 3, [1, 2, 3, 4]);
    expect(() => reconstruct(shares.slice(0, 2), 3)).toThrow(/cannot reconstruct from 2 shares: 3 are needed/);
    expect(() => reconstruct([shares[0]!, shares[0]!, shares[1]!], 3)).toThrow(/duplicate share x-coordinate 1/);
    expect(() => split(secret, 3, [1, 2, 2])).toThrow(/duplicate share x-coordinate 2/);
    expect(() => split(secret, 3, [1, 2])).toThrow(/could never be reconstructed/);
    expect(() => split(secret, 0, [1, 2])).toThrow(/threshold 0/);
    expect(() => split(secret, 2, [0, 1])).toThrow(/x-coordinate 0/);
    expect(() => split(new Uint8Array(3), 2, [1, 2])).toThrow(/even number of bytes/);
    const outside: Share = { x: 5, y: new Uint32Array(16).fill(FIELD_PRIME) };
    expect(() => reconstruct([shares[0]!, shares[1]!, outside], 3)).toThrow(/outside GF/);
    const corrupt: Share = { x: 3, y: shares[2]!.y.map((v, i) => (i === 0 ? (v + 123_456_789) % FIELD_PRIME : v)) };
    expect(() => reconstruct([shares[0]!, shares[1]!, corrupt], 3)).toThrow(/inconsistent/);
  });
});
