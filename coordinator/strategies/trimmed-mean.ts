import { z } from 'zod';
import { add } from '../../shared/weights.ts';
import { strategy } from './common.ts';
import { trimmedMean } from './robust.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/** Trimmed mean (Yin et al. 2018): per coordinate, drop the ⌊β·n⌋ largest and smallest deltas, average the rest. */
export const trimmedMeanParams = z.strictObject({ beta: z.number().min(0).lt(0.5).default(0.2) });

export function trimmedMeanStrategy(params: z.infer<typeof trimmedMeanParams>, ctx: StrategyContext): Strategy {
  return strategy({ name: 'trimmedmean', params, ctx, needsAllUpdates: true, step: (global, results) => add(global, trimmedMean(results.map((r) => r.delta), params.beta)) });
}
