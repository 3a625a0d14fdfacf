import type { DatasetView } from '../data/dataset.ts';
import type { ModelSpec } from '../models/spec.ts';
import type { TrainConfig } from '../train-config.ts';

/**
 * The engine interface: everything that trains or evaluates a model goes
 * through it, so the round loop, client agents and worker pool never touch a
 * tensor library. Weights are the flat layout of shared/weights.ts.
 */

/** What an engine applies of the coordinator's fit instructions besides the hyperparameters. */
export interface FitOptions {
  /** FedProx's proximal coefficient μ: after each step, w ← w − lr·μ·(w − w_global). 0 when absent. */
  readonly mu?: number;
  /** Parameters (names or '/'-prefixes, shared/trainable.ts) that get no gradient, no step and no optimizer state. None when absent. */
  readonly frozen?: readonly string[];
}

export interface TrainMetrics {
  /** Mean training loss over the last local epoch. */
  readonly loss: number;
  /** Training accuracy over the last local epoch; absent for a regression model. */
  readonly accuracy?: number;
  /** Regression: the mean absolute error over the last local epoch (`loss` is then the mean squared error). */
  readonly mae?: number;
  /** Local epochs actually run (fewer than asked for partial work, e.g. a straggler). */
  readonly epochs: number;
  /** gan: the generator's mean loss (`loss` and `accuracy` are then the discriminator's). */
  readonly generatorLoss?: number;
}

export interface TrainResult {
  /** local − global, in the flat layout. */
  readonly delta: Float32Array;
  readonly numExamples: number;
  readonly metrics: TrainMetrics;
}

/** A model's scores on some rows: a classifier's loss and accuracy, or a regression model's MSE (as `loss`), MAE and R². */
export interface EvalMetrics {
  readonly loss: number;
  /** Absent for a regression model. */
  readonly accuracy?: number;
  /** Regression: the mean absolute error. */
  readonly mae?: number;
  /** Regression: the coefficient of determination; absent when the rows' targets are constant (it is then undefined). */
  readonly r2?: number;
  readonly numExamples: number;
}

export interface Engine {
  readonly name: string;
  /**
   * Trains a copy of `weights` on `data` for `config.epochs` epochs with a batch order
   * drawn from `seed`; returns the delta. Never mutates `weights`.
   */
  train(spec: ModelSpec, weights: Float32Array, data: DatasetView, config: TrainConfig & FitOptions, seed: number): Promise<TrainResult>;
  evaluate(spec: ModelSpec, weights: Float32Array, data: DatasetView): Promise<EvalMetrics>;
  /**
   * The model's softmax probabilities for the rows of `data` (a regression model: its raw
   * predictions), in the view's row order: row-major n × spec.outputs. Never mutates `weights`.
   */
  predict(spec: ModelSpec, weights: Float32Array, data: DatasetView): Promise<Float32Array>;
}
