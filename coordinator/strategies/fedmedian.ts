import { z } from 'zod';
import { add } from '../../shared/weights.ts';
import { strategy } from './common.ts';
import { coordinateMedian } from './robust.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/** FedMedian (Yin et al. 2018): the coordinate-wise median of the deltas (unweighted). */
export const fedMedianParams = z.strictObject({});

export function fedMedian(_params: z.infer<typeof fedMedianParams>, ctx: StrategyContext): Strategy {
  return strategy({ name: 'fedmedian', params: {}, ctx, needsAllUpdates: true, step: (global, results) => add(global, coordinateMedian(results.map((r) => r.delta))) });
}
