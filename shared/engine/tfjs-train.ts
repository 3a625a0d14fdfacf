import * as tf from '@tensorflow/tfjs-core';
import type { DatasetView } from '../data/dataset.ts';
import { paramShapes } from '../models/registry.ts';
import type { ModelSpec } from '../models/spec.ts';
import { deriveSeed, mulberry32, permutation } from '../rng.ts';
import type { TrainConfig } from '../train-config.ts';
import { trainableLayout } from '../trainable.ts';
import { subtract } from '../weights.ts';
import type { FitOptions, TrainResult } from './engine.ts';
import { anchorsFor, disposeAll, gatherShuffled, prepareGradients, proximalStep, readFlat, rows, variablesFrom } from './tfjs-common.ts';
import type { TfjsNet } from './tfjs-nets/net.ts';
import { TfjsOptimizer } from './tfjs-optimizer.ts';

/**
 * The tfjs engine's training loop, for every architecture: the weights become
 * variables; each epoch shuffles the rows (an order drawn from `seed`) into one
 * contiguous copy, whose batches (the last one partial) are subarrays of it (a
 * tf.slice of a large tensor is slow on wasm); the net's step updates the
 * variables, then FedProx's proximal step pulls them toward the global weights.
 * The metrics are the last epoch's. Frozen parameters get no gradient, no step,
 * no optimizer state and no proximal step.
 */
export async function trainNet<S extends ModelSpec>(
  net: TfjsNet<S>,
  spec: S,
  weights: Float32Array,
  data: DatasetView,
  n: number,
  config: TrainConfig & FitOptions,
  seed: number,
): Promise<TrainResult> {
  if (net.autodiff) await prepareGradients();
  const shapes = paramShapes(spec);
  // names checked before any tensor exists, so a bad one leaks nothing
  const { trainable } = trainableLayout(spec, config.frozen ?? []);
  // the last await: from here the loop runs to its end without yielding
  await net.prepare?.(spec);
  const mu = config.mu ?? 0;
  const vars = variablesFrom(weights, shapes);
  const anchors = anchorsFor(weights, shapes, mu, trainable);
  const optimizers: TfjsOptimizer[] = [];
  const { features, classes } = data.dataset;
  const xs = new Float32Array(n * features);
  const ys = new Float32Array(n * classes);
  const rng = mulberry32(seed);
  let stats: tf.Variable | undefined;
  try {
    const step = net.step(spec, {
      vars,
      trainable,
      config,
      optimizer: (v, t) => {
        const o = new TfjsOptimizer(config, v, t);
        optimizers.push(o);
        return o;
      },
    });
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      gatherShuffled(data, permutation(n, rng), xs, ys);
      if (epoch === config.epochs - 1) stats = tf.tidy(() => tf.variable(tf.zeros([net.stats]), false));
      for (let start = 0; start < n; start += config.batchSize) {
        const size = Math.min(config.batchSize, n - start);
        tf.tidy(() => {
          step({ x: rows(xs, start, size, features), y: rows(ys, start, size, classes), size, seed: deriveSeed(seed, epoch, start) & 0x7fffffff, stats });
          proximalStep(vars, anchors, config.lr * mu);
        });
      }
    }
    const totals = stats ? Array.from(stats.dataSync()) : new Array<number>(net.stats).fill(0);
    return { delta: subtract(readFlat(vars, weights.length), weights), numExamples: n, metrics: { ...net.metrics(totals, n), epochs: config.epochs } };
  } finally {
    stats?.dispose();
    for (const v of vars) v.dispose();
    for (const o of optimizers) o.dispose();
    disposeAll(anchors);
  }
}
