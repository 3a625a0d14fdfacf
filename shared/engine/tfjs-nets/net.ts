import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../../train-config.ts';
import { lossAndCorrect } from '../tfjs-common.ts';
import type { TfjsOptimizer } from '../tfjs-optimizer.ts';

/**
 * A classifier's forward pass: the parameters (in the flat layout's order) and a
 * batch x [b, features] in, logits [b, outputs] out. With `dropoutSeed` (training)
 * dropout layers are active.
 */
export type Forward = (params: readonly tf.Tensor[], x: tf.Tensor2D, dropoutSeed?: number) => tf.Tensor2D;

/** One batch of the training loop, inside its tidy scope. */
export interface Batch {
  readonly x: tf.Tensor2D;
  /** The one-hot labels [b, classes]. */
  readonly y: tf.Tensor2D;
  readonly size: number;
  /** Seeds this batch's dropout (and a gan's noise). */
  readonly seed: number;
  /** The net's statistics summed over the epoch (on the last epoch only: the metrics report it). */
  readonly stats: tf.Variable | undefined;
}

/** What a net's training step is built from: the variables in flat order, which of them train, the hyperparameters. */
export interface StepSetup {
  readonly vars: readonly tf.Variable[];
  readonly trainable: readonly boolean[];
  readonly config: TrainConfig;
  /** The configured optimizer over some of the variables, disposed with the loop. */
  optimizer(vars: readonly tf.Variable[], trainable: readonly boolean[]): TfjsOptimizer;
}

/** Updates the variables from one batch and adds the batch to `stats`. */
export type Step = (batch: Batch) => void;

/** How the tfjs engine runs one architecture: its training step, its evaluation score, and (a classifier) its logits. */
export interface TfjsNet<S> {
  /** Whether training takes gradients through tfjs autodiff (its gradients are loaded first). */
  readonly autodiff: boolean;
  /** Rows per forward pass when evaluating or predicting. */
  readonly chunk: number;
  /** Statistics a training epoch sums (loss and correct calls first). */
  readonly stats: number;
  /**
   * Work that must finish before the net's synchronous step, score or logits run on
   * `spec` (a user's tfjs model is built from its topology, asynchronously); none when absent.
   */
  prepare?(spec: S): Promise<void>;
  step(spec: S, setup: StepSetup): Step;
  /** [loss sum, correct calls] on rows x (one-hot labels y) starting at row `start`. */
  score(spec: S, params: readonly tf.Tensor[], x: tf.Tensor2D, y: tf.Tensor2D, start: number): tf.Tensor1D;
  /** The mean loss and accuracy (a regression net: the MAE instead; and any other metric) of summed statistics over n rows. */
  metrics(totals: readonly number[], n: number): { loss: number; accuracy?: number; mae?: number; generatorLoss?: number };
  /** A classifier's forward pass; absent for a generative model, which predicts no classes. */
  logits?(spec: S): Forward;
}

/** Mean loss and accuracy per row. */
export function classifierMetrics(totals: readonly number[], n: number): { loss: number; accuracy: number } {
  return { loss: totals[0]! / n, accuracy: totals[1]! / n };
}

/** A regression net's mean squared error (its loss) and mean absolute error per row. */
export function regressionMetrics(totals: readonly number[], n: number): { loss: number; mae: number } {
  return { loss: totals[0]! / n, mae: totals[1]! / n };
}

/**
 * One optimizer step on `vars` down the gradient of `loss` with respect to `trained` (the
 * trainable ones among them). With none trainable the loss is still computed, so its
 * statistics are recorded.
 */
export function descend(loss: () => tf.Scalar, vars: readonly tf.Variable[], trained: tf.Variable[], opt: TfjsOptimizer): void {
  if (trained.length === 0) {
    loss();
    return;
  }
  const { grads } = tf.variableGrads(loss, trained);
  opt.apply(
    vars,
    vars.map((v) => grads[v.name]),
  );
}

/**
 * A classifier trained through tfjs autodiff: the mean cross-entropy of its
 * logits, differentiated with respect to the trainable variables, then the optimizer.
 */
export function autodiffClassifier<S>(forward: (spec: S) => Forward, chunk: number): TfjsNet<S> {
  return {
    autodiff: true,
    chunk,
    stats: 2,
    step(spec, { vars, trainable, optimizer }) {
      const logits = forward(spec);
      const opt = optimizer(vars, trainable);
      const trained = vars.filter((_, i) => trainable[i]);
      return ({ x, y, size, seed, stats }) => {
        const loss = () => {
          const z = logits(vars, x, seed);
          if (stats) stats.assign(tf.add(stats, lossAndCorrect(z, y)));
          return tf.div(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(z)))), size) as tf.Scalar;
        };
        descend(loss, vars, trained, opt);
      };
    },
    score: (spec, params, x, y) => lossAndCorrect(forward(spec)(params, x), y),
    metrics: classifierMetrics,
    logits: forward,
  };
}
