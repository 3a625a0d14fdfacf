import { ConfigError } from '../../shared/errors.ts';
import { fedAvg } from './fedavg.ts';
import type { Strategy } from './strategy.ts';

/** The explicit registry of strategies: nothing registers itself on import. */
const REGISTRY: Record<string, () => Strategy> = {
  fedavg: fedAvg,
};

export const STRATEGY_NAMES = Object.keys(REGISTRY);

export function createStrategy(name: string): Strategy {
  const make = REGISTRY[name];
  if (!make) throw new ConfigError(`unknown strategy "${name}" (available: ${STRATEGY_NAMES.join(', ')})`);
  return make();
}

export type { Strategy } from './strategy.ts';
