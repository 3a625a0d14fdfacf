import * as tf from '@tensorflow/tfjs-core';
import type { TransformerSpec } from '../../models/transformer.ts';
import { dense, denseSteps, layerNorm, maybeDropout, sequenceInput } from './layers.ts';
import { autodiffClassifier, type Forward } from './net.ts';

/** x [b, t, d] → [b, heads, t, d / heads]. */
function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  const [b, t, d] = x.shape;
  return tf.transpose(tf.reshape(x, [b, t, heads, d / heads]), [0, 2, 1, 3]);
}

/** Scaled dot-product attention of every head: softmax(q·kᵀ / √d_head)·v, heads merged back to [b, t, d]. */
function selfAttention(x: tf.Tensor3D, params: readonly tf.Tensor[], p: { i: number }, heads: number): tf.Tensor3D {
  const [b, t, d] = x.shape;
  const next = () => params[p.i++]!;
  const q = splitHeads(denseSteps(x, next(), next()), heads);
  const k = splitHeads(denseSteps(x, next(), next()), heads);
  const v = splitHeads(denseSteps(x, next(), next()), heads);
  const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d / heads));
  const context = tf.matMul(tf.softmax(scores), v);
  const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [b, t, d]) as tf.Tensor3D;
  return denseSteps(merged, next(), next());
}

/**
 * The pre-norm transformer encoder (Xiong et al. 2020: norm inside the residual
 * branch, which trains without learning-rate warm-up):
 *   h = embed(x) + position
 *   per block: h += dropout(attention(norm1(h)));  h += dropout(ffn2(relu(ffn1(norm2(h)))))
 *   logits = output(mean over steps of norm(h))
 */
export function transformerForward(spec: TransformerSpec): Forward {
  return (params, x, dropoutSeed) => {
    const p = { i: 0 };
    const next = () => params[p.i++]!;
    let h: tf.Tensor3D = spec.vocab !== undefined ? sequenceInput(spec, x, params, p) : denseSteps(sequenceInput(spec, x, params, p), next(), next());
    h = tf.add(h, next());
    for (let block = 0; block < spec.layers; block++) {
      const seed = dropoutSeed === undefined ? undefined : dropoutSeed + 2 * block;
      const attended = selfAttention(layerNorm(h, next(), next()) as tf.Tensor3D, params, p, spec.heads);
      h = tf.add(h, maybeDropout(attended, spec.dropout, seed));
      const normed = layerNorm(h, next(), next()) as tf.Tensor3D;
      const hidden = tf.relu(denseSteps(normed, next(), next())) as tf.Tensor3D;
      h = tf.add(h, maybeDropout(denseSteps(hidden, next(), next()), spec.dropout, seed === undefined ? undefined : seed + 1));
    }
    const pooled = tf.mean(layerNorm(h, next(), next()), 1) as tf.Tensor2D;
    return dense(pooled, next(), next());
  };
}

export const transformerNet = autodiffClassifier(transformerForward, 250);
