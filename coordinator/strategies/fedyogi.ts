import type { Strategy, StrategyContext } from './strategy.ts';
import { serverAdaptive, serverAdaptiveParams, type ServerAdaptiveParams } from './server-adaptive.ts';

/** FedYogi (Reddi et al. 2021): the yogi update on the server; parameters lr (η), beta1, beta2, tau (τ). */
export const fedYogiParams = serverAdaptiveParams;

export function fedYogi(params: ServerAdaptiveParams, ctx: StrategyContext): Strategy {
  return serverAdaptive('yogi', params, ctx);
}
