import { aggregateRound } from '../../../coordinator/round-loop.ts';
import { createAggregation, createStrategy, type RunAggregation } from '../../../coordinator/strategies/index.ts';
import type { FitOutcome, Strategy, StrategyContext } from '../../../coordinator/strategies/strategy.ts';
import { AggregationError } from '../../../shared/errors.ts';
import { parseDpSpec, seededNoiseSource, type NoiseSource } from '../../../shared/privacy/index.ts';
import { parseStrategySpec } from '../../../shared/strategy-spec.ts';

/** The strategy a short spec (`fedprox:mu=0.5`) names. */
export const strategyOf = (text: string, ctx: StrategyContext): Strategy => createStrategy(parseStrategySpec(text), ctx);

/** A strategy spec with differential privacy, as the coordinator builds it (no secure aggregation). */
export function withDp(text: string, ctx: StrategyContext, dp: string, o: { delta: number; source?: NoiseSource; samplingSecret: boolean }): RunAggregation {
  return createAggregation(parseStrategySpec(text), parseDpSpec(dp), {
    ctx,
    secagg: false,
    delta: o.delta,
    noise: o.source ?? seededNoiseSource(1, 'test'),
    samplingSecret: o.samplingSecret,
  });
}

/**
 * One plain round of `strategy` over `results` as the round loop aggregates it (combiner,
 * then server step): the new model. A skipped round throws an AggregationError with its reason.
 */
export function aggregateFit(
  strategy: Strategy,
  global: Float32Array,
  results: readonly FitOutcome[],
  o: { round?: number; minResults?: number } = {},
): Float32Array {
  const collected = {
    results: [...results],
    updates: [...results],
    failures: [],
    slowestClientTrain: 0,
    clients: results.length,
    trainMetrics: { loss: null, accuracy: null, mae: null, generatorLoss: null },
  };
  const next = aggregateRound(strategy, {
    round: o.round ?? 1,
    collected,
    minResults: o.minResults ?? 1,
    global,
    trainable: undefined,
    trainableWeights: undefined,
  });
  if ('skip' in next) throw new AggregationError(next.skip.reason);
  return next.weights;
}
