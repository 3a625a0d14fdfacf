import * as tf from '@tensorflow/tfjs-core';
import type { DataView } from '../data/dataset.ts';
import type { ModelSpec } from '../models/spec.ts';
import { deriveSeed, mulberry32, permutation } from '../rng.ts';
import { trainableLayout } from '../trainable.ts';
import { paramShapes, subtract, unflatten } from '../weights.ts';
import type { EvalMetrics, TrainConfig, TrainResult } from './engine.ts';
import { anchorsFor, disposeAll, gatherAll, gatherShuffled, lossAndCorrect, prepareGradients, proximalStep, readFlat, TfjsOptimizer, variablesFrom } from './tfjs-common.ts';
import { classifierForward } from './tfjs-nets/forward.ts';

/**
 * Classifiers other than the MLP (cnn, rnn, transformer) train through tfjs
 * autodiff, one generic loop over their forward passes (tfjs-nets/); the gan has
 * its own adversarial loop (tfjs-nets/gan.ts).
 */
export async function trainGraph(spec: ModelSpec, weights: Float32Array, data: DataView, n: number, config: TrainConfig, seed: number): Promise<TrainResult> {
  await prepareGradients();
  const forward = classifierForward(spec);
  const shapes = paramShapes(spec);
  const { features, classes } = data.dataset;
  // frozen variables are left out of the gradient, the optimizer and the proximal step
  // (names checked before any tensor exists, so a bad one leaks nothing)
  const { trainable } = trainableLayout(spec, config.frozen);
  const vars = variablesFrom(weights, shapes);
  const anchors = anchorsFor(weights, shapes, config.mu, trainable);
  const optimizer = new TfjsOptimizer(config, vars, trainable);
  const xs = new Float32Array(n * features);
  const ys = new Float32Array(n * classes);
  const rng = mulberry32(seed);
  let totals = [0, 0];
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      gatherShuffled(data, permutation(n, rng), xs, ys, new Uint8Array(n));
      const stats = tf.tidy(() => tf.variable(tf.zeros([2]), false));
      for (let start = 0; start < n; start += config.batchSize) {
        const b = Math.min(config.batchSize, n - start);
        tf.tidy(() => {
          const x = tf.tensor2d(xs.subarray(start * features, (start + b) * features), [b, features]);
          const y = tf.tensor2d(ys.subarray(start * classes, (start + b) * classes), [b, classes]);
          const { grads } = tf.variableGrads(() => {
            const logits = forward(vars, x, deriveSeed(seed, epoch, start) & 0x7fffffff);
            stats.assign(tf.add(stats, lossAndCorrect(logits, y)));
            return tf.div(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)))), b) as tf.Scalar;
          }, vars.filter((_, i) => trainable[i]));
          optimizer.apply(vars, vars.map((v) => grads[v.name]));
          proximalStep(vars, anchors, config.lr * config.mu);
        });
      }
      totals = Array.from(stats.dataSync());
      stats.dispose();
    }
    return { delta: subtract(readFlat(vars, weights.length), weights), numExamples: n, metrics: { loss: totals[0]! / n, accuracy: totals[1]! / n, epochs: config.epochs } };
  } finally {
    for (const v of vars) v.dispose();
    optimizer.dispose();
    disposeAll(anchors);
  }
}

export async function evaluateGraph(spec: ModelSpec, weights: Float32Array, data: DataView, n: number): Promise<EvalMetrics> {
  await prepareGradients();
  const forward = classifierForward(spec);
  const shapes = paramShapes(spec);
  const { features, classes } = data.dataset;
  const { xs, ys } = gatherAll(data, n);
  const params = unflatten(weights, shapes).map((v, i) => tf.tensor(v, shapes[i]!.shape as number[]));
  const totals = tf.tidy(() => {
    let acc = tf.zeros([2]);
    for (let start = 0; start < n; start += 250) {
      const b = Math.min(250, n - start);
      const x = tf.tensor2d(xs.subarray(start * features, (start + b) * features), [b, features]);
      const y = tf.tensor2d(ys.subarray(start * classes, (start + b) * classes), [b, classes]);
      acc = tf.add(acc, lossAndCorrect(forward(params, x), y));
    }
    return acc;
  });
  const [lossSum, correct] = totals.dataSync();
  totals.dispose();
  for (const p of params) p.dispose();
  return { loss: lossSum! / n, accuracy: correct! / n, numExamples: n };
}

/** Softmax probabilities (n × outputs, the view's row order) of a graph classifier. */
export async function predictGraph(spec: ModelSpec, weights: Float32Array, data: DataView, n: number): Promise<Float32Array> {
  await prepareGradients();
  const forward = classifierForward(spec);
  const shapes = paramShapes(spec);
  const { features, classes } = data.dataset;
  const { xs } = gatherAll(data, n);
  const params = unflatten(weights, shapes).map((v, i) => tf.tensor(v, shapes[i]!.shape as number[]));
  const out = new Float32Array(n * classes);
  try {
    for (let start = 0; start < n; start += 250) {
      const b = Math.min(250, n - start);
      const probs = tf.tidy(() => tf.softmax(forward(params, tf.tensor2d(xs.subarray(start * features, (start + b) * features), [b, features]))));
      out.set(probs.dataSync(), start * classes);
      probs.dispose();
    }
  } finally {
    for (const p of params) p.dispose();
  }
  return out;
}
