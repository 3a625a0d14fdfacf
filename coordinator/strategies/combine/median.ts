import type { FitOutcome } from '../strategy.ts';
import { standsFor, type CombinedUpdate } from './combiner.ts';
import { coordinateMedian } from './robust.ts';

/** FedMedian (Yin et al. 2018): the coordinate-wise median of the deltas (unweighted). */
export function medianOf(results: readonly FitOutcome[]): CombinedUpdate {
  return { delta: coordinateMedian(results.map((r) => r.delta)), ...standsFor(results) };
}
