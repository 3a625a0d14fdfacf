import * as tf from '@tensorflow/tfjs-core';
import type { DataView } from '../data/dataset.ts';
import { resolveCnn, type ResolvedLayer } from '../models/cnn.ts';
import type { CnnSpec } from '../models/spec.ts';
import { deriveSeed, mulberry32, permutation } from '../rng.ts';
import { paramShapes, subtract, unflatten } from '../weights.ts';
import type { EvalMetrics, TrainConfig, TrainResult } from './engine.ts';
import { anchorsFor, gatherAll, gatherShuffled, lossAndCorrect, proximalStep, readFlat, TfjsOptimizer, variablesFrom } from './tfjs-common.ts';

/**
 * Architectures other than the MLP train through tfjs autodiff. tfjs-core's
 * Node bundle registers no gradients; the @tensorflow/tfjs bundle does, on the
 * same tfjs-core instance, so it is loaded (once) before the first gradient.
 * On wasm, TfjsEngine.create has registered Starling's Conv2DBackpropFilter.
 */
let prepared: Promise<unknown> | undefined;
function prepare(): Promise<unknown> {
  prepared ??= import('@tensorflow/tfjs');
  return prepared;
}

/** Forward pass; with `dropoutSeed` (training) dense layers apply their dropout. */
function forward(layers: readonly ResolvedLayer[], params: readonly tf.Tensor[], x: tf.Tensor4D, dropoutSeed?: number): tf.Tensor2D {
  let h: tf.Tensor = x;
  let p = 0;
  for (const l of layers) {
    if (l.kind === 'maxpool') {
      h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
      continue;
    }
    const w = params[p++]!;
    const b = params[p++]!;
    if (l.kind === 'conv') h = tf.add(tf.conv2d(h as tf.Tensor4D, w as tf.Tensor4D, 1, l.pad > 0 ? 'same' : 'valid'), b);
    else h = tf.add(tf.matMul(h.rank === 2 ? (h as tf.Tensor2D) : tf.reshape(h, [h.shape[0]!, -1]), w as tf.Tensor2D), b);
    switch (l.activation) {
      case 'relu':
        h = tf.relu(h);
        break;
      case 'tanh':
        h = tf.tanh(h);
        break;
      case 'sigmoid':
        h = tf.sigmoid(h);
        break;
      case 'identity':
        break;
    }
    if (dropoutSeed !== undefined && l.kind === 'dense' && l.dropout > 0) h = tf.dropout(h, l.dropout, undefined, dropoutSeed + p);
  }
  return h as tf.Tensor2D;
}

export async function trainGraph(spec: CnnSpec, weights: Float32Array, data: DataView, n: number, config: TrainConfig, seed: number): Promise<TrainResult> {
  await prepare();
  const layers = resolveCnn(spec);
  const shapes = paramShapes(spec);
  const [h, w, c] = spec.input;
  const { features, classes } = data.dataset;
  const vars = variablesFrom(weights, shapes);
  const anchors = anchorsFor(weights, shapes, config.mu);
  const optimizer = new TfjsOptimizer(config, vars);
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
          const x = tf.tensor4d(xs.subarray(start * features, (start + b) * features), [b, h, w, c]);
          const y = tf.tensor2d(ys.subarray(start * classes, (start + b) * classes), [b, classes]);
          const { grads } = tf.variableGrads(() => {
            const logits = forward(layers, vars, x, deriveSeed(seed, epoch, start) & 0x7fffffff);
            stats.assign(tf.add(stats, lossAndCorrect(logits, y)));
            return tf.div(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)))), b) as tf.Scalar;
          }, vars);
          optimizer.apply(vars, vars.map((v) => grads[v.name]!));
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
    if (anchors) for (const a of anchors) a.dispose();
  }
}

export async function evaluateGraph(spec: CnnSpec, weights: Float32Array, data: DataView, n: number): Promise<EvalMetrics> {
  await prepare();
  const layers = resolveCnn(spec);
  const shapes = paramShapes(spec);
  const [h, w, c] = spec.input;
  const { features, classes } = data.dataset;
  const { xs, ys } = gatherAll(data, n);
  const params = unflatten(weights, shapes).map((v, i) => tf.tensor(v, shapes[i]!.shape as number[]));
  const totals = tf.tidy(() => {
    let acc = tf.zeros([2]);
    for (let start = 0; start < n; start += 250) {
      const b = Math.min(250, n - start);
      const x = tf.tensor4d(xs.subarray(start * features, (start + b) * features), [b, h, w, c]);
      const y = tf.tensor2d(ys.subarray(start * classes, (start + b) * classes), [b, classes]);
      acc = tf.add(acc, lossAndCorrect(forward(layers, params, x), y));
    }
    return acc;
  });
  const [lossSum, correct] = totals.dataSync();
  totals.dispose();
  for (const p of params) p.dispose();
  return { loss: lossSum! / n, accuracy: correct! / n, numExamples: n };
}

/** Softmax probabilities (n × outputs, the view's row order) of a graph model, through `forward`. */
export async function predictGraph(spec: CnnSpec, weights: Float32Array, data: DataView, n: number): Promise<Float32Array> {
  await prepare();
  const layers = resolveCnn(spec);
  const shapes = paramShapes(spec);
  const [h, w, c] = spec.input;
  const { features, classes } = data.dataset;
  const { xs } = gatherAll(data, n);
  const params = unflatten(weights, shapes).map((v, i) => tf.tensor(v, shapes[i]!.shape as number[]));
  const out = new Float32Array(n * classes);
  try {
    for (let start = 0; start < n; start += 250) {
      const b = Math.min(250, n - start);
      const probs = tf.tidy(() => tf.softmax(forward(layers, params, tf.tensor4d(xs.subarray(start * features, (start + b) * features), [b, h, w, c]))));
      out.set(probs.dataSync(), start * classes);
      probs.dispose();
    }
  } finally {
    for (const p of params) p.dispose();
  }
  return out;
}
