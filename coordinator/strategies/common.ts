import type { TrainConfig } from '../../shared/engine/engine.ts';
import { add } from '../../shared/weights.ts';
import { weightedAverage } from './aggregate.ts';
import { sampleClients } from './sampling.ts';
import type { ClientInfo, FitInstruction, FitOutcome, Strategy, StrategyContext } from './strategy.ts';

/** The sampled clients, each with the base training config (optionally adjusted). */
export function sampledInstructions(ctx: StrategyContext, round: number, available: readonly ClientInfo[], config: TrainConfig): FitInstruction[] {
  return sampleClients(available, round, ctx.sampling).map((client) => ({ client, config }));
}

/** Σ n_k Δ_k / Σ n_k over the results. */
export function meanDelta(results: readonly FitOutcome[]): Float32Array {
  return weightedAverage(
    results.map((r) => r.delta),
    results.map((r) => r.numExamples),
  );
}

/**
 * A strategy that configures rounds like FedAvg and turns the results into a step
 * with `step(global, results)`; `configure` may adjust each round's training config.
 */
export function strategy(o: {
  name: string;
  params: Record<string, unknown>;
  ctx: StrategyContext;
  needsAllUpdates?: boolean;
  /** Use stragglers' partial work (FedProx) instead of dropping it (the default, as FedAvg does). */
  acceptsPartialWork?: boolean;
  configure?: (base: TrainConfig) => TrainConfig;
  step: (global: Float32Array, results: readonly FitOutcome[]) => Float32Array;
}): Strategy {
  return {
    name: o.name,
    needsAllUpdates: o.needsAllUpdates ?? false,
    configureFit: (round, available, base) => sampledInstructions(o.ctx, round, available, o.configure ? o.configure(base) : base),
    aggregateFit: (_round, global, results) => {
      const usable = o.acceptsPartialWork ? results : results.filter((r) => !r.partial);
      // every result was partial and this strategy drops partial work: the model stays
      return usable.length > 0 ? o.step(global, usable) : Float32Array.from(global);
    },
    toConfig: () => ({ name: o.name, ...o.params }),
  };
}

/** w + Δ̄: the FedAvg step. */
export function fedAvgStep(global: Float32Array, results: readonly FitOutcome[]): Float32Array {
  return add(global, meanDelta(results));
}
