import * as tf from '@tensorflow/tfjs-core';
import type { SequenceInput } from '../../models/sequence.ts';

/** Building blocks the tfjs architectures share (each a plain function of tensors). */

export type ActivationName = 'relu' | 'tanh' | 'sigmoid' | 'leakyRelu' | 'identity';

export function activate(h: tf.Tensor, activation: ActivationName): tf.Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(h);
    case 'tanh':
      return tf.tanh(h);
    case 'sigmoid':
      return tf.sigmoid(h);
    case 'leakyRelu':
      return tf.leakyRelu(h, 0.2);
    case 'identity':
      return h;
  }
}

/** x [b, in] · W [in, out] + bias. */
export function dense(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x, w as tf.Tensor2D), b);
}

/** The same dense layer at every step of x [b, t, in] → [b, t, out]. */
export function denseSteps(x: tf.Tensor3D, w: tf.Tensor, b: tf.Tensor): tf.Tensor3D {
  const [batch, steps, inputs] = x.shape;
  return tf.reshape(dense(tf.reshape(x, [batch * steps, inputs]), w, b), [batch, steps, w.shape[1]!]);
}

/** Layer normalisation over the last axis: (x − mean) / √(var + 1e-5) · γ + β (Keras' epsilon is 1e-3; 1e-5 is the transformer papers'). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axis, true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, 1e-5))), gamma), beta);
}

/** Inverted dropout while training (a seed given), the identity otherwise. */
export function maybeDropout<T extends tf.Tensor>(h: T, rate: number | undefined, seed: number | undefined): T {
  return seed !== undefined && rate !== undefined && rate > 0 ? (tf.dropout(h, rate, undefined, seed) as T) : h;
}

/**
 * The input of a sequence model as [b, seqLen, width]: token ids looked up in the
 * embedding table (a one-hot product, whose gradient every backend has), or the
 * real-valued steps reshaped. Consumes the embedding parameter when there is one.
 */
export function sequenceInput(spec: SequenceInput, x: tf.Tensor2D, params: readonly tf.Tensor[], p: { i: number }): tf.Tensor3D {
  const batch = x.shape[0];
  if (spec.vocab === undefined) return tf.reshape(x, [batch, spec.seqLen, spec.inputDim!]);
  const table = params[p.i++]! as tf.Tensor2D;
  const ids = tf.reshape(tf.cast(x, 'int32'), [batch * spec.seqLen]) as tf.Tensor1D;
  const embedded = tf.matMul(tf.oneHot(ids, spec.vocab).toFloat(), table);
  return tf.reshape(embedded, [batch, spec.seqLen, table.shape[1]]);
}
