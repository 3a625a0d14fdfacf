import { z } from 'zod';
import { fedAvgStep, strategy } from './common.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/**
 * FedProx (Li et al. 2020): clients minimise their loss plus (μ/2)·‖w − w_global‖²,
 * which keeps heterogeneous or partial local work close to the global model; the
 * server averages like FedAvg, partial results included. The engines apply the
 * proximal term after each local step as w ← w − lr·μ·(w − w_global).
 */
export const fedProxParams = z.strictObject({ mu: z.number().min(0).default(0.01) });

export function fedProx(params: z.infer<typeof fedProxParams>, ctx: StrategyContext): Strategy {
  return strategy({ name: 'fedprox', params, ctx, configure: (base) => ({ ...base, mu: params.mu }), acceptsPartialWork: true, step: fedAvgStep });
}
