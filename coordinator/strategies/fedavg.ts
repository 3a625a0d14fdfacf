import type { TrainConfig } from '../../shared/engine/engine.ts';
import { add } from '../../shared/weights.ts';
import { weightedAverage } from './aggregate.ts';
import type { ClientInfo, FitFailure, FitInstruction, FitOutcome, Strategy } from './strategy.ts';

/**
 * Federated averaging (McMahan et al. 2017): every available client trains;
 * the new global model is the old one plus the example-weighted mean of the
 * client deltas: w ← w + Σ n_k Δ_k / Σ n_k. Failed clients are left out.
 */
export function fedAvg(): Strategy {
  return {
    name: 'fedavg',
    needsAllUpdates: false,
    configureFit(_round: number, available: readonly ClientInfo[], base: TrainConfig): FitInstruction[] {
      return available.map((client) => ({ client, config: base }));
    },
    aggregateFit(_round: number, global: Float32Array, results: readonly FitOutcome[], _failures: readonly FitFailure[]): Float32Array {
      const mean = weightedAverage(
        results.map((r) => r.delta),
        results.map((r) => r.numExamples),
      );
      return add(global, mean);
    },
    toConfig: () => ({ name: 'fedavg' }),
  };
}
