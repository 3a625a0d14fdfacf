import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inClientOrder } from '../../../coordinator/collect.ts';
import type { Combination } from '../../../coordinator/strategies/combine/combiner.ts';
import type { FitOutcome, Strategy, StrategyContext } from '../../../coordinator/strategies/strategy.ts';
import { deriveSeed, mulberry32, normal, shuffleInPlace } from '../../../shared/rng.ts';
import { seededNoiseSource } from '../../../shared/privacy/index.ts';
import { strategyOf, withDp } from './round.ts';

const ctx: StrategyContext = { clients: 8, sampling: { fraction: 1, min: 1, seed: 7 } };

/** `n` results of dimension `d` with uneven example counts and tiny-to-large values (float64 sums that round differently by order). */
function results(n: number, d: number, seed: number, partialEvery = 0): FitOutcome[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, (_, k) => ({
    client: { id: `c${k}`, name: `client-${String(k).padStart(2, '0')}` },
    numExamples: 1 + Math.floor(rng() * 5000),
    delta: Float32Array.from({ length: d }, () => normal(rng) * 10 ** Math.floor(rng() * 8 - 4)),
    metrics: { loss: rng() },
    ...(partialEvery > 0 && k % partialEvery === 1 ? { partial: true } : {}),
  }));
}

function bytes(c: Combination): Buffer | string {
  return c.kind === 'combined' ? Buffer.from(c.update.delta.buffer) : c.kind;
}

/** The round's results folded one at a time (what collect.ts does as they arrive) against combined at once. */
function foldAndCombine(make: () => Strategy, rs: FitOutcome[], minResults = 1): { folded: Combination; combined: Combination } {
  const info = { round: 1, minResults, dimension: rs[0]?.delta.length ?? 4 };
  const fold = make().combiner.fold!(info);
  for (const r of rs) fold.add(r);
  return { folded: fold.finish(), combined: make().combiner.combine({ ...info, results: rs }) };
}

describe('folding results as they arrive', () => {
  it.each(['fedavg', 'fedprox:mu=0.1', 'fedavgm:momentum=0.9', 'fedadam', 'fedsgd'])('%s folds to the bytes it combines to', (spec) => {
    for (const [n, partialEvery] of [
      [1, 0],
      [7, 0],
      [9, 3],
    ] as const) {
      const rs = results(n, 257, deriveSeed(3, n), partialEvery);
      const { folded, combined } = foldAndCombine(() => strategyOf(spec, ctx), rs);
      expect(bytes(folded)).toEqual(bytes(combined));
    }
  });

  it('a short round and a round of only dropped partial work fold as they combine', () => {
    const rs = results(2, 8, 5);
    const short = foldAndCombine(() => strategyOf('fedavg', ctx), rs, 3);
    expect(short.folded).toEqual(short.combined);
    expect(short.folded.kind).toBe('skipped');
    const partial = rs.map((r) => ({ ...r, partial: true }));
    const nothing = foldAndCombine(() => strategyOf('fedavg', ctx), partial);
    expect(nothing.folded.kind).toBe('nothing');
    expect(nothing.combined.kind).toBe('nothing');
  });

  it.each(['local:z=0.1,clip=3', 'central:z=0.7,clip=2', 'central:z=2,clip=1,adaptive=0.5,bitNoise=5'])('DP %s folds to the same noised release', (dp) => {
    const rs = results(6, 64, 11);
    // each strategy draws its noise from its own stream with the same seed: the same draws in the same order
    const make = () => withDp('fedavg', ctx, dp, { delta: 1e-5, source: seededNoiseSource(9, 'fold'), samplingSecret: false }).strategy;
    const { folded, combined } = foldAndCombine(make, rs);
    expect(bytes(folded)).toEqual(bytes(combined));
  });

  it('robust rules have no fold: they need every update at once', () => {
    for (const spec of ['fedmedian', 'trimmedmean:beta=0.1', 'krum:f=1', 'multikrum:f=1,m=2']) expect(strategyOf(spec, ctx).combiner.fold).toBeUndefined();
  });

  it('inClientOrder hands results over in position order whatever order they settle in, passing over failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer(), (n, seed) => {
        const order = shuffleInPlace(
          Array.from({ length: n }, (_, i) => i),
          mulberry32(seed),
        );
        const failed = new Set(order.filter((i) => i % 3 === 2));
        const taken: string[] = [];
        const queue = inClientOrder(n, (o) => taken.push(o.client.name));
        for (const i of order)
          queue.settle(i, failed.has(i) ? undefined : { client: { id: `${i}`, name: `${i}` }, numExamples: 1, delta: new Float32Array(0), metrics: {} });
        expect(taken).toEqual(
          Array.from({ length: n }, (_, i) => i)
            .filter((i) => !failed.has(i))
            .map(String),
        );
      }),
    );
  });
});
