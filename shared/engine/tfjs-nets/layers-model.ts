import * as tf from '@tensorflow/tfjs-core';
import type { TfjsLayersSpec, TfjsLoss } from '../../models/tfjs-layers.ts';
import { type BuiltModel, builtModel, prepareLayersModel } from './layers-model-build.ts';
import { classifierMetrics, type TfjsNet } from './net.ts';

/**
 * A user's tfjs layers model (spec type `tfjs`) in the engine's one training loop.
 * The loop keeps the flat weights in its own variables, as for every net; each call
 * loads them into the built model's variables (an assign: tfjs shares the buffer, it
 * copies nothing), runs the model through tfjs-layers and differentiates with respect
 * to the model's variables, then hands the gradients to the loop's optimizer, which
 * updates the loop's variables. State the model updates itself while training
 * (batch-norm moving statistics) is copied back into the loop's variables after each
 * step, so it travels and aggregates like the weights.
 *
 * Outputs: a softmax model's probabilities become log-probabilities, clipped at ε as
 * Keras clips them, so the shared cross-entropy (log-softmax of logits) is Keras'
 * categorical cross-entropy and predict's softmax gives back the probabilities; a
 * linear model's outputs are logits already. The model's own random layers — Dropout,
 * SpatialDropout1D, AlphaDropout, GaussianDropout, GaussianNoise, and the dropout and
 * recurrent_dropout of recurrent layers — draw from tfjs' generator, not from the batch
 * seed: a model with any of them does not train byte-for-byte reproducibly.
 */

/** Keras' fuzz factor: probabilities are clipped to [ε, 1] before their log. */
const EPSILON = 1e-7;

/** Loads weights into the model's variables (each write an assign: the buffer is shared, not copied; a weight constraint is applied). */
function load(b: BuiltModel, params: readonly tf.Tensor[]): void {
  for (const [i, p] of params.entries()) b.variables[i]!.write(p);
}

/** The model's output on x as logits (log-probabilities for a softmax model). */
function logitsOf(b: BuiltModel, x: tf.Tensor2D, training: boolean): tf.Tensor2D {
  // the engine's rows are flat; a model of images or sequences takes them in its own shape
  const input = b.inputShape.length === 1 ? x : tf.reshape(x, [x.shape[0], ...b.inputShape]);
  const out = b.model.apply(input, { training }) as tf.Tensor2D;
  return b.output === 'probabilities' ? tf.log(tf.clipByValue(out, EPSILON, 1)) : out;
}

/** Per row, the loss of logits z against one-hot labels y: cross-entropy, or the squared error of the probabilities averaged over classes (Keras' mse). */
function rowLosses(loss: TfjsLoss, z: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D {
  if (loss === 'meanSquaredError') return tf.mean(tf.squaredDifference(tf.softmax(z), y), 1) as tf.Tensor1D;
  return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(z)), 1)) as tf.Tensor1D;
}

/** [sum of the rows' losses, correct predictions]. */
function score(loss: TfjsLoss, z: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D {
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(z, 1), tf.argMax(y, 1)), 'float32'));
  return tf.stack([tf.sum(rowLosses(loss, z, y)), correct]) as tf.Tensor1D;
}

export const layersModelNet: TfjsNet<TfjsLayersSpec> = {
  autodiff: true,
  chunk: 500,
  stats: 2,
  prepare: prepareLayersModel,
  step(spec, { vars, trainable, optimizer }) {
    const b = builtModel(spec);
    // a weight gets a gradient when Starling trains it (not frozen) and tfjs does (not a statistic, not in a non-trainable layer)
    const differentiated = trainable.map((t, i) => t && b.trainable[i]!);
    const targets = b.variables.filter((_, i) => differentiated[i]).map((v) => v.read() as tf.Variable);
    // after a step: statistics the model updated go back to the loop's variables; so do stepped weights with a constraint, once it is applied
    const refreshed = trainable.flatMap((t, i) => (t && !b.trainable[i] ? [i] : []));
    const constrained = differentiated.flatMap((d, i) => (d && b.variables[i]!.constraint ? [i] : []));
    const opt = optimizer(vars, differentiated);
    return ({ x, y, size, stats }) => {
      load(b, vars);
      const objective = () => {
        const z = logitsOf(b, x, true);
        if (stats) stats.assign(tf.add(stats, score(spec.loss, z, y)));
        // the layers' own regularization losses (kernel_regularizer …) join the data loss, as in model.fit
        const regularization = b.model.calculateLosses();
        const data = tf.div(tf.sum(rowLosses(spec.loss, z, y)), size) as tf.Scalar;
        return regularization.length ? (tf.addN([data, ...regularization]) as tf.Scalar) : data;
      };
      if (targets.length === 0) objective();
      else {
        const { grads } = tf.variableGrads(objective, targets);
        let k = 0;
        opt.apply(
          vars,
          differentiated.map((d) => (d ? grads[targets[k++]!.name] : undefined)),
        );
      }
      for (const i of constrained) b.variables[i]!.write(vars[i]!);
      for (const i of [...refreshed, ...constrained]) vars[i]!.assign(b.variables[i]!.read());
    };
  },
  score: (spec, params, x, y) => {
    const b = builtModel(spec);
    load(b, params);
    return score(spec.loss, logitsOf(b, x, false), y);
  },
  metrics: classifierMetrics,
  logits: (spec) => (params, x) => {
    const b = builtModel(spec);
    load(b, params);
    return logitsOf(b, x, false);
  },
};
