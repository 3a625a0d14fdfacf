import type { DataView } from '../shared/data/dataset.ts';
import type { Engine, TrainConfig, TrainResult } from '../shared/engine/engine.ts';
import { DataError } from '../shared/errors.ts';
import type { ModelSpec } from '../shared/models/spec.ts';

/** What a client agent needs to train: the global weights in, a delta out. */
export interface Trainer {
  fit(spec: ModelSpec, weights: Float32Array, config: TrainConfig, seed: number): Promise<TrainResult>;
}

/** Trains in this process with an engine on a local data view. */
export class EngineTrainer implements Trainer {
  private readonly engine: Engine;
  private readonly data: DataView;

  constructor(engine: Engine, data: DataView) {
    this.engine = engine;
    this.data = data;
  }

  fit(spec: ModelSpec, weights: Float32Array, config: TrainConfig, seed: number): Promise<TrainResult> {
    return this.engine.train(spec, weights, conformClasses(this.data, spec), config, seed);
  }
}

/**
 * A CSV shard knows only the labels it holds; the model spec says how many
 * classes exist. Widens the dataset's class count to the model's, or fails when
 * the data holds a label the model cannot predict.
 */
export function conformClasses(view: DataView, spec: ModelSpec): DataView {
  const ds = view.dataset;
  if (ds.classes === spec.outputs) return view;
  if (ds.classes > spec.outputs) {
    throw new DataError(`the data holds labels up to ${ds.classes - 1}, but the model predicts only ${spec.outputs} classes`);
  }
  return { ...view, dataset: { ...ds, classes: spec.outputs } };
}
