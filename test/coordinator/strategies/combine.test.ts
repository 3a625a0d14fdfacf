import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plainCombiner, secureSum, type RoundResults } from '../../../coordinator/strategies/combine/combiner.ts';
import { meanFold, weightedMean } from '../../../coordinator/strategies/combine/weighted-mean.ts';
import type { FitOutcome, StrategyContext } from '../../../coordinator/strategies/strategy.ts';
import { strategyOf } from './round.ts';

const outcome = (name: string, numExamples: number, delta: number[], partial?: boolean): FitOutcome => ({
  client: { id: name, name },
  numExamples,
  delta: Float32Array.from(delta),
  metrics: {},
  ...(partial ? { partial } : {}),
});
const round = (results: FitOutcome[], minResults = 1): RoundResults => ({ round: 1, results, minResults, dimension: results[0]?.delta.length ?? 1 });
const ctx: StrategyContext = { clients: 5, sampling: { fraction: 1, min: 1, seed: 1 } };

/** A permutation of `items` from fast-check's keys: sorted by them. */
const permuted = <T>(items: readonly T[], keys: readonly number[]) =>
  items
    .map((item, i) => [keys[i] ?? 0, i, item] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([, , item]) => item);

describe('the weighted mean, folded as results arrive', () => {
  const result = (deltas: fc.Arbitrary<number>) => fc.tuple(fc.array(deltas, { minLength: 5, maxLength: 5 }), fc.integer({ min: 1, max: 100_000 }));
  const folded = (results: readonly FitOutcome[]) => {
    const mean = meanFold();
    for (const r of results) mean.fold(r);
    return mean.finish();
  };

  it('folding in any order gives the same bytes (deltas on a 2⁻¹⁶ grid, where the float64 sum is exact)', () => {
    fc.assert(
      fc.property(
        fc.array(result(fc.integer({ min: -(2 ** 26), max: 2 ** 26 }).map((k) => k / 2 ** 16)), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        (items, keys) => {
          const results = items.map(([d, n], i) => outcome(`c${i}`, n, d));
          const inOrder = folded(results);
          expect(folded(permuted(results, keys))).toEqual(inOrder);
          expect(inOrder.clients).toBe(results.length);
          expect(inOrder.numExamples).toBe(items.reduce((s, [, n]) => s + n, 0));
        },
      ),
    );
  });

  it('folded in any order, it is the batch mean up to float rounding, with the same clients and examples', () => {
    fc.assert(
      fc.property(
        fc.array(result(fc.float({ min: -1e6, max: 1e6, noNaN: true })), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        (items, keys) => {
          const results = items.map(([d, n], i) => outcome(`c${i}`, n, d));
          const batch = weightedMean(results);
          const any = folded(permuted(results, keys));
          expect({ ...any, delta: undefined }).toEqual({ ...batch, delta: undefined });
          const scale = Math.max(...results.flatMap((r) => Array.from(r.delta, Math.abs)));
          for (const [i, v] of any.delta.entries())
            expect(Math.abs(v - batch.delta[i]!)).toBeLessThanOrEqual(Math.max(Math.abs(batch.delta[i]!) * 2 ** -22, scale * 2 ** -40));
        },
      ),
    );
  });

  it('folds without keeping or changing the deltas it is given', () => {
    const a = outcome('a', 1, [1, 2]);
    const mean = meanFold();
    mean.fold(a);
    a.delta[0] = 100;
    expect(Array.from(mean.finish().delta)).toEqual([1, 2]);
    expect(Array.from(a.delta)).toEqual([100, 2]);
  });
});

describe('combiners', () => {
  it('the plain path: a short round is skipped with its reason; partial work is dropped unless the strategy accepts it; all partial, nothing to combine', () => {
    const drop = plainCombiner(weightedMean, { needsEveryUpdate: false, acceptsPartialWork: false });
    const keep = plainCombiner(weightedMean, { needsEveryUpdate: false, acceptsPartialWork: true });
    const results = [outcome('a', 1, [2]), outcome('p', 1, [10], true)];
    expect(drop.combine(round(results, 3))).toEqual({ kind: 'skipped', skip: { code: 'E_TOO_FEW_RESULTS', reason: 'only 2 results, 3 needed' } });
    expect(drop.combine(round(results))).toEqual({ kind: 'combined', update: { delta: Float32Array.of(2), clients: 1, numExamples: 1 } });
    expect(keep.combine(round(results))).toEqual({ kind: 'combined', update: { delta: Float32Array.of(6), clients: 2, numExamples: 2 } });
    expect(drop.combine(round([outcome('p', 1, [10], true)]))).toEqual({ kind: 'nothing' });
  });

  it('the secure sum goes to the server step as it arrived; one of too few clients is a short round', () => {
    const update = { delta: Float32Array.of(0.5, -0.5), clients: 3 };
    expect(secureSum(update, 3)).toEqual({ kind: 'combined', update });
    expect(secureSum(update, 4)).toEqual({ kind: 'skipped', skip: { code: 'E_TOO_FEW_RESULTS', reason: 'only 3 results, 4 needed' } });
  });

  it('robust rules need every update; what they combine stands for the clients it holds', () => {
    const results = [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [50, 50],
    ].map((v, i) => outcome(`c${i}`, 10 + i, v));
    for (const name of ['fedmedian', 'trimmedmean', 'krum', 'multikrum']) expect(strategyOf(name, ctx).combiner.needsEveryUpdate, name).toBe(true);
    for (const name of ['fedavg', 'fedsgd', 'fedprox', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad'])
      expect(strategyOf(name, ctx).combiner.needsEveryUpdate, name).toBe(false);
    const combined = (name: string) => {
      const c = strategyOf(name, ctx).combiner.combine(round(results));
      return c.kind === 'combined' ? c.update : undefined;
    };
    expect(combined('fedmedian')).toEqual({ delta: Float32Array.of(1, 1), clients: 5, numExamples: 60 });
    expect(combined('krum:f=1')).toMatchObject({ clients: 1 });
    expect(combined('multikrum:f=1')).toMatchObject({ clients: 4 });
  });
});
