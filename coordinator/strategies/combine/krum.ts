import type { SpecOf } from '../../../shared/strategy-spec.ts';
import type { CombineRule } from './combiner.ts';
import { krumSelect } from './robust.ts';
import { weightedMean } from './weighted-mean.ts';

/**
 * Krum (Blanchard et al. 2017): tolerates f Byzantine clients among n > 2f + 2 by
 * taking the delta closest (sum of squared distances to its n − f − 2 nearest) to
 * the others. A run whose full rounds cannot have n > 2f + 2 is refused up front
 * (perRoundProblem); a round that falls short through dropouts is skipped.
 */
export function krumOf(spec: SpecOf<'krum'>): CombineRule {
  return (results) => {
    const best =
      results[
        krumSelect(
          results.map((r) => r.delta),
          spec.f,
          1,
        )[0]!
      ]!;
    return { delta: best.delta, clients: 1, numExamples: best.numExamples };
  };
}

/**
 * Multi-Krum: the example-weighted mean of the m deltas with the best Krum scores, where m
 * is n − f of THIS round's n updates (not of the population: with C < 1 or after dropouts
 * that would average every update, the Byzantine ones included). An explicit m above the
 * round's n − f is clamped to it, for the same reason; the recorded parameters carry m only when given.
 */
export function multiKrumOf(spec: SpecOf<'multikrum'>): CombineRule {
  return (results) => {
    const k = Math.min(spec.m ?? Infinity, results.length - spec.f);
    // krumSelect refuses n ≤ 2f + 2 (an AggregationError) before k is used, so k ≥ f + 3 here
    return weightedMean(
      krumSelect(
        results.map((r) => r.delta),
        spec.f,
        k,
      ).map((i) => results[i]!),
    );
  };
}
