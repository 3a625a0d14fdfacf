import type { FitOutcome } from '../strategy.ts';
import type { CombinedUpdate } from './combiner.ts';
import { InvalidArgumentError } from '../../../shared/errors.ts';

type Weighted = Pick<FitOutcome, 'client' | 'numExamples' | 'delta'>;

/**
 * Federated averaging's combiner (McMahan et al. 2017): Σ n_k Δ_k / Σ n_k over `results`,
 * accumulated in float64 in the order given and divided once at the end (meanFold), returned
 * as float32. Folding the same results one at a time in the same order gives the same bytes,
 * which is how a round combines its results as they arrive.
 */
export function weightedMean(results: readonly Weighted[]): CombinedUpdate {
  if (results.length === 0) throw new InvalidArgumentError('weighted mean: no results');
  const fold = meanFold();
  for (const r of results) fold.fold(r);
  return fold.finish();
}

/** The same mean built one result at a time, so results can be folded in as they arrive. */
export interface MeanFold {
  /** Adds one result: its delta weighted by its example count. Neither is kept or mutated. */
  fold(result: Weighted): void;
  /** Σ n_k Δ_k / Σ n_k over the results folded so far. */
  finish(): CombinedUpdate;
}

/**
 * A weighted mean folded as results arrive: Σ n_k Δ_k kept in float64 and divided by Σ n_k at
 * `finish` (the total is not known before then). The float64 sum is exact to far below float32's
 * precision but not associative, so the bytes are fixed by the order: the round loop folds in
 * client order (coordinator/collect.ts), never arrival order. Memory: one float64 vector.
 */
export function meanFold(): MeanFold {
  let sum: Float64Array | undefined;
  let numExamples = 0;
  let clients = 0;
  return {
    fold(r) {
      sum ??= new Float64Array(r.delta.length);
      numExamples += checked(r, sum.length);
      addScaled(sum, r.delta, r.numExamples);
      clients++;
    },
    finish() {
      if (!sum) throw new InvalidArgumentError('weighted mean: no results');
      if (numExamples <= 0) throw new InvalidArgumentError('weighted mean: the example counts sum to zero');
      const delta = new Float32Array(sum.length);
      for (let i = 0; i < sum.length; i++) delta[i] = sum[i]! / numExamples;
      return { delta, clients, numExamples };
    },
  };
}

/** The result's example count, once its count and its delta's length are known to be usable. */
function checked({ client, numExamples: n, delta }: Weighted, length: number): number {
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`weighted mean: ${client.name} reports ${n} examples, expected a finite number ≥ 0`);
  if (delta.length !== length) throw new InvalidArgumentError(`weighted mean: ${client.name}'s update has length ${delta.length}, expected ${length}`);
  return n;
}

/** sum += scale · v (mutates sum). */
function addScaled(sum: Float64Array, v: Float32Array, scale: number): void {
  for (let i = 0; i < sum.length; i++) sum[i]! += scale * v[i]!;
}
