import type { FitConfig } from '../../shared/protocol/fit-config.ts';
import type { StrategySpec } from '../../shared/strategy-spec.ts';

/**
 * What a strategy asks of its clients: how it adjusts each fit task's config, and whether a
 * straggler's partial work (fewer local epochs than asked) counts or is dropped, as FedAvg
 * drops it.
 */
export interface ClientSide {
  configure(base: FitConfig): FitConfig;
  readonly acceptsPartialWork: boolean;
}

/** The largest batch the training config accepts: a whole shard up to this size is one batch. */
const FULL_BATCH = 65536;

export function clientSide(spec: StrategySpec): ClientSide {
  switch (spec.name) {
    case 'fedprox':
      // FedProx (Li et al. 2020): clients minimise their loss plus (μ/2)·‖w − w_global‖², which keeps
      // heterogeneous or partial local work close to the global model, so partial results count.
      // The engines apply the proximal term after each local step as w ← w − lr·μ·(w − w_global).
      return { configure: (base) => ({ ...base, mu: spec.mu }), acceptsPartialWork: true };
    case 'fedsgd':
      // FedSGD (McMahan et al. 2017's baseline): one full-batch gradient step per client (E = 1, B = ∞)
      return { configure: (base) => ({ ...base, epochs: 1, batchSize: FULL_BATCH, momentum: 0 }), acceptsPartialWork: false };
    default:
      return { configure: (base) => base, acceptsPartialWork: false };
  }
}
