import type { Strategy, StrategyContext } from './strategy.ts';
import { serverAdaptive, serverAdaptiveParams, type ServerAdaptiveParams } from './server-adaptive.ts';

/** FedAdam (Reddi et al. 2021): the adam update on the server; parameters lr (η), beta1, beta2, tau (τ). */
export const fedAdamParams = serverAdaptiveParams;

export function fedAdam(params: ServerAdaptiveParams, ctx: StrategyContext): Strategy {
  return serverAdaptive('adam', params, ctx);
}
