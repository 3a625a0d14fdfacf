import type { TrainConfig } from '../../shared/engine/engine.ts';
import { AggregationError } from '../../shared/errors.ts';
import { deriveSeed } from '../../shared/rng.ts';
import { add, firstNonFinite } from '../../shared/weights.ts';
import { weightedAverage } from './aggregate.ts';
import { sampleClients } from './sampling.ts';
import type { ClientInfo, EvaluateAggregate, EvaluateOutcome, FitInstruction, FitOutcome, Strategy, StrategyContext } from './strategy.ts';

/** The sampled clients, each with the base training config (optionally adjusted). */
export function sampledInstructions(ctx: StrategyContext, round: number, available: readonly ClientInfo[], config: TrainConfig): FitInstruction[] {
  return sampleClients(available, round, ctx.sampling).map((client) => ({ client, config }));
}

/**
 * The clients that evaluate round `round`'s model: a seeded fraction (fractionEvaluate),
 * drawn like configureFit's sample but from its own stream, so the two samples are
 * independent; every client when the context sets no evaluation sampling.
 */
export function evaluateClients(ctx: StrategyContext, round: number, available: readonly ClientInfo[]): ClientInfo[] {
  const s = ctx.evaluateSampling ?? { fraction: 1, min: 1, seed: ctx.sampling.seed };
  return sampleClients(available, round, { ...s, seed: deriveSeed(s.seed, 0xe7a1) });
}

/**
 * Federated evaluation's aggregate: for each metric, Σ n_k m_k / Σ n_k over the
 * results that report it (n_k: the client's scored rows); results with no rows
 * carry no weight. Pure; the keys come out sorted.
 */
export function weightedMetrics(results: readonly EvaluateOutcome[]): EvaluateAggregate {
  const sums = new Map<string, { sum: number; n: number }>();
  let numExamples = 0;
  for (const r of results) {
    if (!(r.numExamples >= 0) || !Number.isFinite(r.numExamples)) throw new RangeError(`weightedMetrics: ${r.client.name} reports ${r.numExamples} examples`);
    numExamples += r.numExamples;
    if (r.numExamples === 0) continue;
    for (const [key, value] of Object.entries(r.metrics)) {
      if (!Number.isFinite(value)) throw new RangeError(`weightedMetrics: ${r.client.name} reports ${key} = ${value}`);
      const acc = sums.get(key) ?? { sum: 0, n: 0 };
      acc.sum += r.numExamples * value;
      acc.n += r.numExamples;
      sums.set(key, acc);
    }
  }
  const metrics: Record<string, number> = {};
  for (const key of [...sums.keys()].sort()) metrics[key] = sums.get(key)!.sum / sums.get(key)!.n;
  return { numExamples, metrics };
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
      return usable.length > 0 ? requireFinite(o.step(global, usable), o.name) : Float32Array.from(global);
    },
    configureEvaluate: (round, available) => evaluateClients(o.ctx, round, available),
    aggregateEvaluate: (_round, results) => weightedMetrics(results),
    toConfig: () => ({ name: o.name, ...o.params }),
  };
}

/**
 * `weights` when every value is finite; otherwise an AggregationError, so the round loop
 * skips the round instead of letting NaN or ±∞ into the global model (where the next
 * round's training would turn every client's loss to NaN). Finite client deltas can still
 * overflow float32 once added to the model. A strategy with state calls this before it
 * commits the state, so a skipped round leaves that state as it was.
 */
export function requireFinite(weights: Float32Array, who: string): Float32Array {
  const i = firstNonFinite(weights);
  if (i >= 0) throw new AggregationError(`${who}: the new global model is not finite (${weights[i]} at coordinate ${i})`);
  return weights;
}

/** w + Δ̄: the FedAvg step. */
export function fedAvgStep(global: Float32Array, results: readonly FitOutcome[]): Float32Array {
  return add(global, meanDelta(results));
}
