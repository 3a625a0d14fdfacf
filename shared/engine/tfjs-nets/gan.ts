import * as tf from '@tensorflow/tfjs-core';
import type { DataView } from '../../data/dataset.ts';
import { generatorParamCount } from '../../models/gan.ts';
import type { GanSpec } from '../../models/spec.ts';
import { deriveSeed, mulberry32, permutation } from '../../rng.ts';
import { trainableLayout } from '../../trainable.ts';
import { paramShapes, subtract, unflatten } from '../../weights.ts';
import type { EvalMetrics, TrainConfig, TrainResult } from '../engine.ts';
import { anchorsFor, disposeAll, gatherAll, gatherShuffled, prepareGradients, proximalStep, readFlat, TfjsOptimizer, variablesFrom } from '../tfjs-common.ts';
import { activate, dense, maybeDropout, type ActivationName } from './layers.ts';

/**
 * An MLP over `params` (kernel, bias pairs): hidden layers with `net.activation`
 * and, while training (a dropout seed given), `net.dropout`; the last layer with `last`.
 */
function mlp(params: readonly tf.Tensor[], x: tf.Tensor2D, net: GanSpec['generator'], last: ActivationName, dropoutSeed?: number): tf.Tensor2D {
  let h = x;
  for (let p = 0; p < params.length; p += 2) {
    const hidden = p + 2 < params.length;
    h = activate(dense(h, params[p]!, params[p + 1]!), hidden ? net.activation : last) as tf.Tensor2D;
    if (hidden) h = maybeDropout(h, net.dropout, dropoutSeed === undefined ? undefined : dropoutSeed + p);
  }
  return h;
}

function generator(spec: GanSpec, params: readonly tf.Tensor[], z: tf.Tensor2D, dropoutSeed?: number): tf.Tensor2D {
  return mlp(params.slice(0, generatorParamCount(spec)), z, spec.generator, spec.output === 'linear' ? 'identity' : spec.output, dropoutSeed);
}

/** The discriminator's logit per sample ([b, 1]; > 0 means "real"). */
function discriminator(spec: GanSpec, params: readonly tf.Tensor[], x: tf.Tensor2D, dropoutSeed?: number): tf.Tensor2D {
  return mlp(params.slice(generatorParamCount(spec)), x, spec.discriminator, 'identity', dropoutSeed);
}

/** Binary cross-entropy from logits, summed: −log σ(l) for real targets, −log(1 − σ(l)) for fake ones. */
function bce(logits: tf.Tensor2D, real: boolean): tf.Scalar {
  return tf.sum(tf.softplus(real ? tf.neg(logits) : logits));
}

function noise(spec: GanSpec, b: number, seed: number): tf.Tensor2D {
  return tf.randomNormal([b, spec.latent], 0, 1, 'float32', seed);
}

/** [discriminator loss sum, correct calls (real > 0, fake < 0)] on real rows x and as many generated ones. */
function discriminatorStats(spec: GanSpec, params: readonly tf.Tensor[], x: tf.Tensor2D, z: tf.Tensor2D, dropoutSeed?: number): [tf.Scalar, tf.Scalar] {
  const seed = (k: number) => (dropoutSeed === undefined ? undefined : dropoutSeed + 101 * k);
  const realLogits = discriminator(spec, params, x, seed(1));
  const fakeLogits = discriminator(spec, params, generator(spec, params, z, seed(2)), seed(3));
  const loss = tf.add(bce(realLogits, true), bce(fakeLogits, false)) as tf.Scalar;
  const correct = tf.add(tf.sum(tf.cast(tf.greater(realLogits, 0), 'float32')), tf.sum(tf.cast(tf.less(fakeLogits, 0), 'float32'))) as tf.Scalar;
  return [loss, correct];
}

/**
 * Adversarial training (Goodfellow et al. 2014, non-saturating generator loss):
 * per batch of b real rows, one discriminator step on b real + b generated samples,
 * then one generator step on b fresh samples. Each network has its own optimizer
 * state; FedProx's proximal step applies to both. Reported: `loss` is the
 * discriminator's mean loss per sample pair (ln 4 ≈ 1.386 at chance), `accuracy` its
 * accuracy on real vs generated, `generatorLoss` the generator's mean loss.
 */
export async function trainGan(spec: GanSpec, weights: Float32Array, data: DataView, n: number, config: TrainConfig, seed: number): Promise<TrainResult> {
  await prepareGradients();
  const shapes = paramShapes(spec);
  const split = generatorParamCount(spec);
  // frozen parameters (transfer learning) get no gradient, optimizer state or proximal step
  // (names checked before any tensor exists, so a bad one leaks nothing)
  const { trainable } = trainableLayout(spec, config.frozen);
  const vars = variablesFrom(weights, shapes);
  const gVars = vars.slice(0, split);
  const dVars = vars.slice(split);
  const gTrainable = gVars.filter((_, i) => trainable[i]);
  const dTrainable = dVars.filter((_, i) => trainable[split + i]);
  const anchors = anchorsFor(weights, shapes, config.mu, trainable);
  const gOpt = new TfjsOptimizer(config, gVars, trainable.slice(0, split));
  const dOpt = new TfjsOptimizer(config, dVars, trainable.slice(split));
  const { features } = data.dataset;
  const xs = new Float32Array(n * features);
  const rng = mulberry32(seed);
  let totals = [0, 0, 0];
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      gatherShuffled(data, permutation(n, rng), xs, new Float32Array(n * data.dataset.classes), new Uint8Array(n));
      const stats = tf.tidy(() => tf.variable(tf.zeros([3]), false));
      for (let start = 0; start < n; start += config.batchSize) {
        const b = Math.min(config.batchSize, n - start);
        const stepSeed = deriveSeed(seed, epoch, start) & 0x7fffffff;
        tf.tidy(() => {
          const x = tf.tensor2d(xs.subarray(start * features, (start + b) * features), [b, features]);
          const dLoss = () => {
            const [loss, correct] = discriminatorStats(spec, vars, x, noise(spec, b, stepSeed), stepSeed);
            stats.assign(tf.add(stats, tf.stack([loss, correct, tf.scalar(0)])));
            return tf.div(loss, b) as tf.Scalar;
          };
          if (dTrainable.length > 0) {
            const d = tf.variableGrads(dLoss, dTrainable);
            dOpt.apply(dVars, dVars.map((v) => d.grads[v.name]));
          } else dLoss();
          const gLoss = () => {
            const loss = bce(discriminator(spec, vars, generator(spec, vars, noise(spec, b, stepSeed + 1), stepSeed + 7), stepSeed + 11), true);
            stats.assign(tf.add(stats, tf.stack([tf.scalar(0), tf.scalar(0), loss])));
            return tf.div(loss, b) as tf.Scalar;
          };
          if (gTrainable.length > 0) {
            const g = tf.variableGrads(gLoss, gTrainable);
            gOpt.apply(gVars, gVars.map((v) => g.grads[v.name]));
          } else gLoss();
          proximalStep(vars, anchors, config.lr * config.mu);
        });
      }
      totals = Array.from(stats.dataSync());
      stats.dispose();
    }
    return {
      delta: subtract(readFlat(vars, weights.length), weights),
      numExamples: n,
      metrics: { loss: totals[0]! / n, accuracy: totals[1]! / (2 * n), generatorLoss: totals[2]! / n, epochs: config.epochs },
    };
  } finally {
    for (const v of vars) v.dispose();
    gOpt.dispose();
    dOpt.dispose();
    disposeAll(anchors);
  }
}

/** Fixed noise for evaluation, so the same weights always score the same. */
const EVAL_NOISE_SEED = 0x6a9;

/**
 * The discriminator's loss and accuracy on the real rows against as many
 * generated samples: accuracy near 0.5 means the generator's samples pass for real.
 */
export async function evaluateGan(spec: GanSpec, weights: Float32Array, data: DataView, n: number): Promise<EvalMetrics> {
  await prepareGradients();
  const shapes = paramShapes(spec);
  const { features } = data.dataset;
  const { xs } = gatherAll(data, n);
  const params = unflatten(weights, shapes).map((v, i) => tf.tensor(v, shapes[i]!.shape as number[]));
  try {
    const totals = tf.tidy(() => {
      let acc = tf.zeros([2]);
      for (let start = 0; start < n; start += 500) {
        const b = Math.min(500, n - start);
        const x = tf.tensor2d(xs.subarray(start * features, (start + b) * features), [b, features]);
        acc = tf.add(acc, tf.stack(discriminatorStats(spec, params, x, noise(spec, b, EVAL_NOISE_SEED + start))));
      }
      return acc;
    });
    const [loss, correct] = totals.dataSync();
    totals.dispose();
    return { loss: loss! / n, accuracy: correct! / (2 * n), numExamples: n };
  } finally {
    for (const p of params) p.dispose();
  }
}

/** `count` samples from the generator, row-major [count, features], from seeded noise. */
export async function generateSamples(spec: GanSpec, weights: Float32Array, count: number, seed: number): Promise<Float32Array> {
  await prepareGradients();
  const shapes = paramShapes(spec);
  const params = unflatten(weights, shapes).map((v, i) => tf.tensor(v, shapes[i]!.shape as number[]));
  try {
    const out = tf.tidy(() => generator(spec, params, noise(spec, count, seed)));
    const values = out.dataSync() as Float32Array;
    out.dispose();
    return values;
  } finally {
    for (const p of params) p.dispose();
  }
}
