import type { Strategy, StrategyContext } from '../coordinator/strategies/strategy.ts';
import { createStrategy } from '../coordinator/strategies/index.ts';
import { parseMapping } from '../shared/config/spec-field.ts';
import { parseStrategySpec, strategySpecSchema, type StrategySpec } from '../shared/strategy-spec.ts';

/** What startCoordinator and simulate call to build a strategy for a run (CoordinatorOptions.strategy). */
export type StrategyFactory = (ctx: StrategyContext) => Strategy;

/**
 * One of Starling's strategies (FedAvg, FedProx, FedAdam, FedMedian, Krum…) as a factory, to
 * pass as the `strategy` option or to wrap: call it with the context the run hands a
 * factory, then replace the parts to change (its combiner, its toConfig) and keep the rest —
 * snapshot and restore included, so checkpoints still carry the server step's state.
 * `spec` is the short form (`fedprox:mu=0.1`) or the mapping (`{ name: 'fedprox', mu: 0.1 }`);
 * a bad one is a ConfigError now, not when the run starts.
 */
export function builtinStrategy(spec: string | StrategySpec): StrategyFactory {
  const parsed = typeof spec === 'string' ? parseStrategySpec(spec) : parseMapping(strategySpecSchema, spec);
  return (ctx) => createStrategy(parsed, ctx);
}
