import { describe, expect, it } from 'vitest';
import { defaultNeighbours, defaultThreshold, SECAGG_PLUS_ABOVE } from '../../../coordinator/secagg-round.ts';
import { checkConfig, type SecAggConfig } from '../../../shared/secagg/index.ts';
import { plainSum, runRound, seededRandom } from './harness.ts';

describe('a round’s default SecAgg+ neighbourhoods and threshold', () => {
  it('all pairs up to 64 clients, then k = 2⌈log₂ n⌉ neighbours with t = ⌈2(k+1)/3⌉', () => {
    expect(SECAGG_PLUS_ABOVE).toBe(64);
    for (const n of [2, 3, 10, 33, 64]) {
      expect(defaultNeighbours(n)).toBeUndefined();
      expect(defaultThreshold(n, defaultNeighbours(n))).toBe(Math.max(2, Math.ceil((2 * n) / 3)));
    }
    const rows = [65, 100, 128, 129, 1000, 10_000].map((n) => {
      const k = defaultNeighbours(n)!;
      return [n, k, defaultThreshold(n, k)];
    });
    expect(rows).toEqual([
      [65, 14, 10],
      [100, 14, 10],
      [128, 14, 10],
      [129, 16, 12],
      [1000, 20, 14],
      [10_000, 28, 20],
    ]);
  });

  it('a threshold the run fixed widens the neighbourhoods to keep the ratio (k + 1 ≥ 3t/2), and all pairs once k reaches n − 1', () => {
    expect(defaultNeighbours(100, 10)).toBe(14);
    // ⌈3·16/2⌉ = 24: 24 neighbours, so 8 of a neighbourhood of 25 may drop, not 0 of 17
    expect(defaultNeighbours(100, 16)).toBe(24);
    expect(defaultNeighbours(100, 40)).toBe(60);
    // t = 67 of 100, the old default: all pairs again, surviving 33 dropouts as it always did
    expect(defaultNeighbours(100, 67)).toBeUndefined();
    expect(defaultNeighbours(1000, 100)).toBe(150);
    expect(defaultNeighbours(100, 100)).toBeUndefined();
    expect(defaultNeighbours(80, 80)).toBeUndefined();
    for (const n of [65, 100, 500]) {
      for (const t of [2, 20, n - 1, n]) {
        const k = defaultNeighbours(n, t);
        const config: SecAggConfig = {
          runId: 'r',
          round: 1,
          clients: n,
          threshold: t,
          dimension: 1,
          ...(k ? { graph: { degree: k, seed: new Uint8Array(32) } } : {}),
        };
        expect(() => checkConfig(config)).not.toThrow();
      }
    }
  });

  it('a 70-client round on the defaults sums correctly, with dropouts, each client holding O(log n) shares', () => {
    const n = 70;
    const m = 40;
    const k = defaultNeighbours(n)!;
    const t = defaultThreshold(n, k);
    const random = seededRandom('defaults at 70');
    const inputs = new Map(Array.from({ length: n }, (_, i) => [i + 1, Uint32Array.from({ length: m }, () => random(1)[0]! * 1000)]));
    let shares = 0;
    const { result } = runRound({ runId: 'defaults', round: 1, clients: n, threshold: t, dimension: m, graph: { degree: k, seed: random(32) } }, inputs, {
      dropAfterShares: [5, 40],
      dropAfterMasked: [12],
      tamperShares: (msg) => {
        shares = Math.max(shares, msg.shares.length);
        return msg;
      },
    });
    expect(shares).toBe(k);
    const survivors = [...inputs.keys()].filter((u) => u !== 5 && u !== 40);
    expect(result.included).toEqual(survivors);
    expect([...result.sum]).toEqual([...plainSum(inputs, survivors, m)]);
  });
});
