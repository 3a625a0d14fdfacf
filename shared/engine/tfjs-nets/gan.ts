import * as tf from '@tensorflow/tfjs-core';
import { generatorParamCount, type GanSpec } from '../../models/gan.ts';
import { paramShapes } from '../../models/registry.ts';
import { prepareGradients, tensorsFrom } from '../tfjs-common.ts';
import { activate, dense, maybeDropout, type ActivationName } from './layers.ts';
import { descend, type TfjsNet } from './net.ts';

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

/** Fixed noise for evaluation, so the same weights always score the same. */
const EVAL_NOISE_SEED = 0x6a9;

/**
 * Adversarial training (Goodfellow et al. 2014, non-saturating generator loss):
 * per batch of b real rows, one discriminator step on b real + b generated samples,
 * then one generator step on b fresh samples. Each network has its own optimizer
 * state. Reported: `loss` is the discriminator's mean loss per sample pair (ln 4 ≈
 * 1.386 at chance), `accuracy` its accuracy on real vs generated, `generatorLoss`
 * the generator's mean loss. Evaluation scores the discriminator on the real rows
 * against as many generated samples: accuracy near 0.5 means the generator's
 * samples pass for real.
 */
export const ganNet: TfjsNet<GanSpec> = {
  autodiff: true,
  chunk: 500,
  stats: 3,
  step(spec, { vars, trainable, optimizer }) {
    const split = generatorParamCount(spec);
    const gVars = vars.slice(0, split);
    const dVars = vars.slice(split);
    const gTrainable = gVars.filter((_, i) => trainable[i]);
    const dTrainable = dVars.filter((_, i) => trainable[split + i]);
    const gOpt = optimizer(gVars, trainable.slice(0, split));
    const dOpt = optimizer(dVars, trainable.slice(split));
    return ({ x, size: b, seed, stats }) => {
      const record = (d: tf.Scalar, correct: tf.Scalar, g: tf.Scalar) => stats?.assign(tf.add(stats, tf.stack([d, correct, g])));
      const dLoss = () => {
        const [loss, correct] = discriminatorStats(spec, vars, x, noise(spec, b, seed), seed);
        record(loss, correct, tf.scalar(0));
        return tf.div(loss, b) as tf.Scalar;
      };
      descend(dLoss, dVars, dTrainable, dOpt);
      const gLoss = () => {
        const loss = bce(discriminator(spec, vars, generator(spec, vars, noise(spec, b, seed + 1), seed + 7), seed + 11), true);
        record(tf.scalar(0), tf.scalar(0), loss);
        return tf.div(loss, b) as tf.Scalar;
      };
      descend(gLoss, gVars, gTrainable, gOpt);
    };
  },
  score: (spec, params, x, _y, start) => tf.stack(discriminatorStats(spec, params, x, noise(spec, x.shape[0], EVAL_NOISE_SEED + start))) as tf.Tensor1D,
  metrics: (totals, n) => ({ loss: totals[0]! / n, accuracy: totals[1]! / (2 * n), ...(totals.length > 2 ? { generatorLoss: totals[2]! / n } : {}) }),
};

/** `count` samples from the generator, row-major [count, features], from seeded noise. */
export async function generateSamples(spec: GanSpec, weights: Float32Array, count: number, seed: number): Promise<Float32Array> {
  await prepareGradients();
  const params = tensorsFrom(weights, paramShapes(spec));
  try {
    const out = tf.tidy(() => generator(spec, params, noise(spec, count, seed)));
    const values = out.dataSync() as Float32Array;
    out.dispose();
    return values;
  } finally {
    for (const p of params) p.dispose();
  }
}
