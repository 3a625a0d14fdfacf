import { z } from 'zod';
import { fedAvgStep, strategy } from './common.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/**
 * Federated averaging (McMahan et al. 2017): the sampled clients train; the new
 * global model is the old one plus the example-weighted mean of their deltas:
 * w ← w + Σ n_k Δ_k / Σ n_k. Failed clients are left out.
 */
export const fedAvgParams = z.strictObject({});

export function fedAvg(_params: z.infer<typeof fedAvgParams>, ctx: StrategyContext): Strategy {
  return strategy({ name: 'fedavg', params: {}, ctx, step: fedAvgStep });
}
