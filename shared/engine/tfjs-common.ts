import * as tf from '@tensorflow/tfjs-core';
import { inputSize, type ModelSpec } from '../models/spec.ts';
import { DataError } from '../errors.ts';
import type { DataView, Dataset } from '../data/dataset.ts';

/** Helpers shared by the tfjs engine's training loops. */

export function checkSpec(spec: ModelSpec, ds: Dataset): void {
  const inputs = inputSize(spec);
  if (inputs !== ds.features) throw new DataError(`the model takes ${inputs} inputs but the data has ${ds.features} features`);
  if (spec.outputs !== ds.classes) throw new DataError(`the model predicts ${spec.outputs} classes but the data has ${ds.classes}`);
}

/** Copies the rows of `view` in `order` into contiguous x, one-hot y and label buffers. */
export function gatherShuffled(view: DataView, order: Uint32Array, xs: Float32Array, ys: Float32Array, labels: Uint8Array): void {
  const { x, y, features, classes } = view.dataset;
  ys.fill(0);
  for (let i = 0; i < order.length; i++) {
    const row = view.indices ? view.indices[order[i]!]! : order[i]!;
    xs.set(x.subarray(row * features, (row + 1) * features), i * features);
    const label = y[row]!;
    labels[i] = label;
    ys[i * classes + label] = 1;
  }
}

/** [sum of cross-entropy losses, number of correct predictions] for a batch. */
export function lossAndCorrect(logits: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D {
  const logp = tf.logSoftmax(logits);
  const loss = tf.neg(tf.sum(tf.mul(y, logp)));
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32'));
  return tf.stack([loss, correct]) as tf.Tensor1D;
}

