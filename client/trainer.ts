import type { DataView } from '../shared/data/dataset.ts';
import type { Engine, TrainConfig, TrainResult } from '../shared/engine/engine.ts';
import { DataError } from '../shared/errors.ts';
import { outputClasses, type ModelSpec } from '../shared/models/spec.ts';

/** What a client agent needs to train: the global weights in, a delta out. */
export interface Trainer {
  fit(spec: ModelSpec, weights: Float32Array, config: TrainConfig, seed: number): Promise<TrainResult>;
}

/** Picks the engine for a model spec (an EngineFactory's forSpec, or a fixed engine in tests). */
export type EngineSource = Engine | { forSpec(spec: ModelSpec): Promise<Engine> };

/** Trains in this process on a local data view, with the engine chosen for each task's spec. */
export class EngineTrainer implements Trainer {
  private readonly engines: EngineSource;
  private readonly data: DataView;

  constructor(engines: EngineSource, data: DataView) {
    this.engines = engines;
    this.data = data;
  }

  async fit(spec: ModelSpec, weights: Float32Array, config: TrainConfig, seed: number): Promise<TrainResult> {
    const engine = 'forSpec' in this.engines ? await this.engines.forSpec(spec) : this.engines;
    return engine.train(spec, weights, conformClasses(this.data, spec), config, seed);
  }
}

/**
 * A CSV shard knows only the labels it holds; the model spec says how many
 * classes exist. Widens the dataset's class count to the model's, or fails when
 * the data holds a label the model cannot predict.
 */
export function conformClasses(view: DataView, spec: ModelSpec): DataView {
  const ds = view.dataset;
  const classes = outputClasses(spec);
  // a generative model ignores labels
  if (classes === undefined || ds.classes === classes) return view;
  if (ds.classes > classes) {
    throw new DataError(`the data holds labels up to ${ds.classes - 1}, but the model predicts only ${classes} classes`);
  }
  return { ...view, dataset: { ...ds, classes } };
}
