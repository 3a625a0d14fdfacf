import { standsFor, type CombineRule } from './combiner.ts';
import { trimmedMean } from './robust.ts';

/** Trimmed mean (Yin et al. 2018): per coordinate, drop the ⌊β·n⌋ largest and smallest deltas, average the rest. */
export function trimmedMeanOf(beta: number): CombineRule {
  return (results) => ({
    delta: trimmedMean(
      results.map((r) => r.delta),
      beta,
    ),
    ...standsFor(results),
  });
}
