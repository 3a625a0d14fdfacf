import type { Trainer } from '../client/trainer.ts';
import type { TrainConfig, TrainResult } from '../shared/engine/engine.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import type { WorkerPool } from './worker-pool.ts';

/** A virtual client's trainer: its shard is a list of row indices; the work runs on the shared pool. */
export class PoolTrainer implements Trainer {
  private readonly pool: WorkerPool;
  private readonly indices: Uint32Array;

  constructor(pool: WorkerPool, indices: Uint32Array) {
    this.pool = pool;
    this.indices = indices;
  }

  fit(spec: ModelSpec, weights: Float32Array, config: TrainConfig, seed: number): Promise<TrainResult> {
    return this.pool.train(spec, weights, this.indices, config, seed);
  }
}
