import * as tf from '@tensorflow/tfjs-core';
import type { DatasetView } from '../data/dataset.ts';
import { unflatten, type ParamShape } from '../weights.ts';

/** Helpers the tfjs engine's training and inference loops share. */

/**
 * tfjs-core's Node bundle registers no gradients; the @tensorflow/tfjs bundle
 * does, on the same tfjs-core instance, so it is loaded (once) before the first
 * autodiff step. On wasm, TfjsEngine.create has registered Starling's kernels.
 */
let gradientsLoaded: Promise<unknown> | undefined;
export function prepareGradients(): Promise<unknown> {
  gradientsLoaded ??= import('@tensorflow/tfjs');
  return gradientsLoaded;
}

/** Copies the rows of `view` in `order` into contiguous x and y buffers: y one-hot labels, or for regression the target rows. */
export function gatherShuffled(view: DatasetView, order: Uint32Array, xs: Float32Array, ys: Float32Array): void {
  const { x, y, features, classes, targets } = view.dataset;
  if (!targets) ys.fill(0);
  for (let i = 0; i < order.length; i++) {
    const row = view.indices ? view.indices[order[i]!]! : order[i]!;
    xs.set(x.subarray(row * features, (row + 1) * features), i * features);
    if (targets) ys.set(targets.subarray(row * classes, (row + 1) * classes), i * classes);
    else ys[i * classes + y[row]!] = 1;
  }
}

/** All rows of a view, in order, as contiguous x and one-hot y (for evaluation). */
export function gatherAll(view: DatasetView, n: number): { xs: Float32Array; ys: Float32Array } {
  const xs = new Float32Array(n * view.dataset.features);
  const ys = new Float32Array(n * view.dataset.classes);
  const identity = new Uint32Array(n);
  for (let i = 0; i < n; i++) identity[i] = i;
  gatherShuffled(view, identity, xs, ys);
  return { xs, ys };
}

/** Rows [start, start + b) of a row-major buffer of `width` columns, as a [b, width] tensor. */
export function rows(buffer: Float32Array, start: number, b: number, width: number): tf.Tensor2D {
  return tf.tensor2d(buffer.subarray(start * width, (start + b) * width), [b, width]);
}

/** [sum of cross-entropy losses, number of correct predictions] for a batch. */
export function lossAndCorrect(logits: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D {
  const logp = tf.logSoftmax(logits);
  const loss = tf.neg(tf.sum(tf.mul(y, logp)));
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32'));
  return tf.stack([loss, correct]) as tf.Tensor1D;
}

/**
 * [sum of squared errors, sum of absolute errors] for a regression batch, each row's errors
 * averaged over its outputs: divided by the rows, the mean squared error (the loss) and the MAE.
 */
export function squaredAndAbsolute(outputs: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D {
  const width = outputs.shape[1];
  const err = tf.sub(outputs, y);
  return tf.div(tf.stack([tf.sum(tf.square(err)), tf.sum(tf.abs(err))]), width) as tf.Tensor1D;
}

/** Constant tensors holding the flat weights, one per parameter. */
export function tensorsFrom(weights: Float32Array, shapes: readonly ParamShape[]): tf.Tensor[] {
  return unflatten(weights, shapes).map((w, i) => tf.tensor(w, shapes[i]!.shape as number[]));
}

/** Variables holding the flat weights, one per parameter (outside any tidy scope's reach). */
export function variablesFrom(weights: Float32Array, shapes: readonly ParamShape[]): tf.Variable[] {
  // tidy frees the initial tensors; variables outlive it
  return tf.tidy(() => tensorsFrom(weights, shapes).map((t) => tf.variable(t, true)));
}

/** The variables' values concatenated in the flat layout. */
export function readFlat(vars: readonly tf.Variable[], length: number): Float32Array {
  const out = new Float32Array(length);
  let offset = 0;
  for (const v of vars) {
    const vals = v.dataSync() as Float32Array;
    out.set(vals, offset);
    offset += vals.length;
  }
  return out;
}

/** FedProx's proximal step after each local step, w ← w − lr·μ·(w − w_global); nothing when μ = 0 or for a frozen (anchorless) variable. */
export function proximalStep(vars: readonly tf.Variable[], anchors: readonly (tf.Tensor | undefined)[] | undefined, lrMu: number): void {
  if (!anchors) return;
  vars.forEach((v, i) => {
    const a = anchors[i];
    if (a) v.assign(tf.sub(v, tf.mul(tf.sub(v, a), lrMu)));
  });
}

/** The global weights of the trainable parameters as constant tensors, when FedProx needs them. */
export function anchorsFor(
  weights: Float32Array,
  shapes: readonly ParamShape[],
  mu: number,
  trainable: readonly boolean[],
): (tf.Tensor | undefined)[] | undefined {
  return mu > 0 ? unflatten(weights, shapes).map((w, i) => (trainable[i] ? tf.tensor(w, shapes[i]!.shape as number[]) : undefined)) : undefined;
}

/** Disposes the tensors of a list that may have gaps. */
export function disposeAll(tensors: readonly (tf.Tensor | undefined)[] | undefined): void {
  if (tensors) for (const t of tensors) t?.dispose();
}
