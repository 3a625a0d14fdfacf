import * as tf from '@tensorflow/tfjs-core';
import type { Activation } from '../../models/activation.ts';
import type { MlpSpec } from '../../models/mlp.ts';
import { isPlainSgd } from '../../optimizers/sgd.ts';
import { lossAndCorrect, squaredAndAbsolute } from '../tfjs-common.ts';
import { activate } from './layers.ts';
import { classifierMetrics, regressionMetrics, type TfjsNet } from './net.ts';

/**
 * The MLP trains without autodiff: its backward pass is written out (softmax
 * cross-entropy gradient in closed form; for loss mse, the squared error's gradient
 * through the linear output). On the wasm backend the per-op
 * overhead of autodiff dominates small models; this step also never uses
 * transposed matMul (wasm runs those ~10× slower than an explicit transpose +
 * plain matMul) and, for plain SGD, folds the learning rate into the output
 * gradient so each update is a single subtraction.
 */

interface Activations {
  logits: tf.Tensor2D;
  /** Each layer's input (after dropout), the data first. */
  acts: tf.Tensor2D[];
  /** Each hidden layer's pre-activation, activation before dropout, and dropout mask. */
  pre: tf.Tensor2D[];
  post: tf.Tensor2D[];
  masks: (tf.Tensor2D | undefined)[];
}

/** Forward pass; with `dropoutSeed` (training) hidden layers apply the spec's inverted dropout. */
function mlpForward(spec: MlpSpec, params: readonly tf.Tensor[], x: tf.Tensor2D, dropoutSeed?: number): Activations {
  const layers = params.length / 2;
  const f: Activations = { logits: x, acts: [x], pre: [], post: [], masks: [] };
  const p = spec.dropout ?? 0;
  let h = x;
  for (let l = 0; l < layers; l++) {
    const z = tf.add(tf.matMul(h, params[2 * l] as tf.Tensor2D), params[2 * l + 1]!) as tf.Tensor2D;
    if (l === layers - 1) return { ...f, logits: z };
    f.pre.push(z);
    h = activate(z, spec.activation) as tf.Tensor2D;
    f.post.push(h);
    const mask =
      dropoutSeed !== undefined && p > 0
        ? (tf.div(tf.step(tf.sub(tf.randomUniform(h.shape, 0, 1, 'float32', dropoutSeed + l), p)), 1 - p) as tf.Tensor2D)
        : undefined;
    f.masks.push(mask);
    if (mask) h = tf.mul(h, mask);
    f.acts.push(h);
  }
  throw new Error('unreachable: an MLP has at least one layer');
}

/** A regression MLP's predictions in the targets' units: the network's outputs scaled back by the spec's target scale. */
function predictions(spec: MlpSpec, z: tf.Tensor2D): tf.Tensor2D {
  return spec.target ? (tf.add(tf.mul(z, tf.tensor1d(spec.target.std)), tf.tensor1d(spec.target.mean)) as tf.Tensor2D) : z;
}

/** Targets in the units the network learns: standardized by the spec's target scale. */
function scaledTargets(spec: MlpSpec, y: tf.Tensor2D): tf.Tensor2D {
  return spec.target ? (tf.div(tf.sub(y, tf.tensor1d(spec.target.mean)), tf.tensor1d(spec.target.std)) as tf.Tensor2D) : y;
}

/** d act / d z, from the pre-activation z and the activation h. */
function activationGrad(a: Activation, z: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
  switch (a) {
    case 'relu':
      return tf.step(z);
    case 'tanh':
      return tf.sub(1, tf.square(h));
    case 'sigmoid':
      return tf.mul(h, tf.sub(1, h));
  }
}

/**
 * One step's gradients, multiplied by `scale` (1 / batch, or lr / batch when the
 * caller subtracts them as they are). Adds [loss, correct] into `stats` when given.
 * Frozen variables get no gradient (undefined), and the backward pass stops below
 * the first layer that trains.
 */
function mlpGradients(
  spec: MlpSpec,
  vars: readonly tf.Variable[],
  trainable: readonly boolean[],
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  scale: number,
  stats: tf.Variable | undefined,
  dropoutSeed: number,
): (tf.Tensor | undefined)[] {
  const f = mlpForward(spec, vars, x, dropoutSeed);
  const mse = spec.loss === 'mse';
  if (stats) stats.assign(tf.add(stats, mse ? squaredAndAbsolute(predictions(spec, f.logits), y) : lossAndCorrect(f.logits, y)));
  // d loss / d output, per row: softmax − one-hot, or for the mean over outputs of (o − y)² (in the learnt scale), 2(o − y) / outputs
  const outputGrad = mse ? tf.mul(tf.sub(f.logits, scaledTargets(spec, y)), 2 / spec.outputs) : tf.sub(tf.softmax(f.logits), y);
  let g = tf.mul(outputGrad, scale) as tf.Tensor2D;
  const layers = vars.length / 2;
  const grads: (tf.Tensor | undefined)[] = new Array(vars.length).fill(undefined);
  let first = 0;
  while (!trainable[2 * first] && !trainable[2 * first + 1]) first++;
  for (let l = layers - 1; l >= first; l--) {
    const input = f.acts[l]!;
    if (trainable[2 * l]) grads[2 * l] = tf.matMul(tf.transpose(input), g);
    if (trainable[2 * l + 1]) grads[2 * l + 1] = tf.sum(g, 0);
    if (l > first) {
      let back = tf.matMul(g, tf.transpose(vars[2 * l]!) as tf.Tensor2D);
      const mask = f.masks[l - 1];
      if (mask) back = tf.mul(back, mask);
      g = tf.mul(back, activationGrad(spec.activation, f.pre[l - 1]!, f.post[l - 1]!));
    }
  }
  return grads;
}

export const mlpNet: TfjsNet<MlpSpec> = {
  autodiff: false,
  chunk: 1000,
  stats: 2,
  step(spec, { vars, trainable, config, optimizer }) {
    // plain SGD folds the learning rate into the output gradient; every other optimizer gets the mean gradient
    const plain = isPlainSgd(config);
    const opt = plain ? undefined : optimizer(vars, trainable);
    return ({ x, y, size, seed, stats }) => {
      const grads = mlpGradients(spec, vars, trainable, x, y, plain ? config.lr / size : 1 / size, stats, seed);
      if (opt) opt.apply(vars, grads);
      else
        vars.forEach((v, i) => {
          const g = grads[i];
          if (g) v.assign(tf.sub(v, g));
        });
    };
  },
  score: (spec, params, x, y) => lossAndCorrect(mlpForward(spec, params, x).logits, y),
  metrics: classifierMetrics,
  logits: (spec) => (params, x) => mlpForward(spec, params, x).logits,
};

/**
 * An MLP with loss mse: the same step (mlpGradients follows the spec's loss), scored by
 * squared and absolute error; its `logits` are its predictions (a linear output, scaled back
 * to the targets' units).
 */
export const mlpRegressionNet: TfjsNet<MlpSpec> = {
  ...mlpNet,
  score: (spec, params, x, y) => squaredAndAbsolute(predictions(spec, mlpForward(spec, params, x).logits), y),
  metrics: regressionMetrics,
  logits: (spec) => (params, x) => predictions(spec, mlpForward(spec, params, x).logits),
};
