import { NO_LOCAL_EVALUATION, type LocalEvaluation, type Trainer } from '../client/trainer.ts';
import type { TrainResult } from '../shared/engine/engine.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import type { FitConfig } from '../shared/protocol/fit-config.ts';
import type { WorkerPool } from './worker-pool.ts';

/**
 * A virtual client's trainer: its training rows and held-out rows (if any) are lists
 * of row indices; training and scoring run on the shared pool.
 */
export class PoolTrainer implements Trainer {
  private readonly pool: WorkerPool;
  private readonly indices: Uint32Array;
  private readonly holdout: Uint32Array | undefined;

  constructor(pool: WorkerPool, indices: Uint32Array, holdout?: Uint32Array) {
    this.pool = pool;
    this.indices = indices;
    this.holdout = holdout;
  }

  async evaluate(spec: ModelSpec, weights: Float32Array): Promise<LocalEvaluation> {
    if (!this.holdout) return NO_LOCAL_EVALUATION;
    const scores = await this.pool.evaluate(spec, weights, this.holdout);
    return { numExamples: scores.numExamples, metrics: { ...scores.metrics } };
  }

  fit(spec: ModelSpec, weights: Float32Array, config: FitConfig, seed: number): Promise<TrainResult> {
    return this.pool.train(spec, weights, this.indices, config, seed);
  }
}

/** A PoolTrainer whose rows are found when a task needs them (a virtual client of the in-memory transport holds none in between). */
export function lazyTrainer(pool: WorkerPool, rows: () => { readonly train: Uint32Array; readonly holdout?: Uint32Array }): Trainer {
  const now = () => {
    const r = rows();
    return new PoolTrainer(pool, r.train, r.holdout);
  };
  return {
    fit: (spec, weights, config, seed) => now().fit(spec, weights, config, seed),
    evaluate: (spec, weights) => now().evaluate(spec, weights),
  };
}
