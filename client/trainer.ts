import type { DatasetView } from '../shared/data/dataset.ts';
import type { Engine, TrainResult } from '../shared/engine/engine.ts';
import { scoreView } from '../shared/engine/score.ts';
import { DataError } from '../shared/errors.ts';
import { outputClasses } from '../shared/models/registry.ts';
import { MAX_CLASSES } from '../shared/data/dataset.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import type { FitConfig } from '../shared/protocol/fit-config.ts';

/** A client's scores of a global model on its held-out rows; 0 examples (no metrics) when it holds none. */
export interface LocalEvaluation {
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export const NO_LOCAL_EVALUATION: LocalEvaluation = { numExamples: 0, metrics: {} };

/** What a client agent needs: train (the global weights in, a delta out) and score a model on its held-out rows. */
export interface Trainer {
  fit(spec: ModelSpec, weights: Float32Array, config: FitConfig, seed: number): Promise<TrainResult>;
  evaluate(spec: ModelSpec, weights: Float32Array): Promise<LocalEvaluation>;
}

/** Picks the engine for a model spec (an EngineFactory's forSpec, or a fixed engine in tests). */
export type EngineSource = Engine | { forSpec(spec: ModelSpec): Promise<Engine> };

/**
 * Trains in this process on a local data view, with the engine chosen for each
 * task's spec, and scores models on the held-out view (never trained on), if any.
 */
export class EngineTrainer implements Trainer {
  private readonly engines: EngineSource;
  private readonly data: DatasetView;
  private readonly holdout: DatasetView | undefined;

  constructor(engines: EngineSource, data: DatasetView, holdout?: DatasetView) {
    this.engines = engines;
    this.data = data;
    this.holdout = holdout;
  }

  async fit(spec: ModelSpec, weights: Float32Array, config: FitConfig, seed: number): Promise<TrainResult> {
    const engine = await this.engineFor(spec);
    return engine.train(spec, weights, conformClasses(this.data, spec), config, seed);
  }

  async evaluate(spec: ModelSpec, weights: Float32Array): Promise<LocalEvaluation> {
    if (!this.holdout) return NO_LOCAL_EVALUATION;
    const engine = await this.engineFor(spec);
    const scores = await scoreView(engine, spec, weights, conformClasses(this.holdout, spec));
    return { numExamples: scores.numExamples, metrics: { ...scores.metrics } };
  }

  private async engineFor(spec: ModelSpec): Promise<Engine> {
    return 'forSpec' in this.engines ? this.engines.forSpec(spec) : this.engines;
  }
}

/**
 * A CSV shard knows only the labels it holds; the model spec says how many
 * classes exist. Widens the dataset's class count to the model's, or fails when
 * the data holds a label the model cannot predict.
 */
export function conformClasses(view: DatasetView, spec: ModelSpec): DatasetView {
  const ds = view.dataset;
  const classes = outputClasses(spec);
  // a generative model ignores labels; regression targets are checked against the model by the engine
  if (classes === undefined || ds.classes === classes || ds.targets) return view;
  // labels are one byte: a spec asking for more classes could only make the client allocate for nothing
  if (classes > MAX_CLASSES) throw new DataError(`the model predicts ${classes} classes; a label holds at most ${MAX_CLASSES}`);
  if (ds.classes > classes) {
    throw new DataError(`the data holds labels up to ${ds.classes - 1}, but the model predicts only ${classes} classes`);
  }
  return { ...view, dataset: { ...ds, classes } };
}
