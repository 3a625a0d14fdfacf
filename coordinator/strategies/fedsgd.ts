import { z } from 'zod';
import { fedAvgStep, strategy } from './common.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/**
 * FedSGD (McMahan et al. 2017's baseline): each sampled client takes one
 * full-batch gradient step (E = 1, B = ∞) and the steps are averaged by examples.
 */
export const fedSgdParams = z.strictObject({});

/** The largest batch the training config accepts: a whole shard up to this size is one batch. */
export const FULL_BATCH = 65536;

export function fedSgd(_params: z.infer<typeof fedSgdParams>, ctx: StrategyContext): Strategy {
  return strategy({ name: 'fedsgd', params: {}, ctx, configure: (base) => ({ ...base, epochs: 1, batchSize: FULL_BATCH, momentum: 0 }), step: fedAvgStep });
}
