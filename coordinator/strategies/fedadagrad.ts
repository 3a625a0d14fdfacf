import type { Strategy, StrategyContext } from './strategy.ts';
import { serverAdaptive, serverAdaptiveParams, type ServerAdaptiveParams } from './server-adaptive.ts';

/** FedAdagrad (Reddi et al. 2021): the adagrad update on the server; parameters lr (η), beta1, beta2, tau (τ). */
export const fedAdagradParams = serverAdaptiveParams;

export function fedAdagrad(params: ServerAdaptiveParams, ctx: StrategyContext): Strategy {
  return serverAdaptive('adagrad', params, ctx);
}
