import * as tf from '@tensorflow/tfjs-core';
import { inputSize, outputClasses, type ModelSpec } from '../models/spec.ts';
import { DataError } from '../errors.ts';
import type { DataView, Dataset } from '../data/dataset.ts';
import { unflatten, type ParamShape } from '../weights.ts';
import type { TrainConfig } from './engine.ts';

/** Helpers shared by the tfjs engine's training loops. */

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

export function checkSpec(spec: ModelSpec, ds: Dataset): void {
  const inputs = inputSize(spec);
  if (inputs !== ds.features) throw new DataError(`the model takes ${inputs} inputs but the data has ${ds.features} features`);
  const classes = outputClasses(spec);
  if (classes !== undefined && classes !== ds.classes) throw new DataError(`the model predicts ${classes} classes but the data has ${ds.classes}`);
  if ((spec.type === 'rnn' || spec.type === 'transformer') && spec.vocab !== undefined) checkTokens(ds, spec.vocab);
}

/** Datasets whose every value was found to be a token id below the recorded vocabulary size (checked once per dataset, not per task). */
const checkedTokens = new WeakMap<Float32Array, number>();

/** Token inputs must be whole numbers in [0, vocab): anything else would embed as a zero vector, silently. */
function checkTokens(ds: Dataset, vocab: number): void {
  const { x, features } = ds;
  if ((checkedTokens.get(x) ?? Infinity) <= vocab) return;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= vocab) {
      throw new DataError(`row ${Math.floor(i / features)}, step ${i % features}: token ${v} is not an id in 0..${vocab - 1}`);
    }
  }
  checkedTokens.set(x, vocab);
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


/** Variables holding the flat weights, one per parameter (outside any tidy scope's reach). */
export function variablesFrom(weights: Float32Array, shapes: readonly ParamShape[]): tf.Variable[] {
  // tidy frees the initial tensors; variables outlive it
  return tf.tidy(() => unflatten(weights, shapes).map((w, i) => tf.variable(tf.tensor(w, shapes[i]!.shape as number[]), true)));
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
export function anchorsFor(weights: Float32Array, shapes: readonly ParamShape[], mu: number, trainable?: readonly boolean[]): (tf.Tensor | undefined)[] | undefined {
  return mu > 0 ? unflatten(weights, shapes).map((w, i) => (trainable && !trainable[i] ? undefined : tf.tensor(w, shapes[i]!.shape as number[]))) : undefined;
}

/** Disposes the tensors of a list that may have gaps. */
export function disposeAll(tensors: readonly (tf.Tensor | undefined)[] | undefined): void {
  if (tensors) for (const t of tensors) t?.dispose();
}

/** All rows of a view, in order, as contiguous x and one-hot y (for evaluation). */
export function gatherAll(view: DataView, n: number): { xs: Float32Array; ys: Float32Array } {
  const xs = new Float32Array(n * view.dataset.features);
  const ys = new Float32Array(n * view.dataset.classes);
  const identity = new Uint32Array(n);
  for (let i = 0; i < n; i++) identity[i] = i;
  gatherShuffled(view, identity, xs, ys, new Uint8Array(n));
  return { xs, ys };
}

/**
 * The optimizers for the tfjs engine's loops, matching the SIMD kernels' rules:
 * g ← ∇ + λ·w, then
 *   sgd:     v ← μ·v + g;  w −= lr·(Nesterov ? g + μ·v : v)
 *   adam:    m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  w −= lr_t·m / (√v + ε_t)
 *            with lr_t = lr·√(1 − β2^t)/(1 − β1^t), ε_t = ε·√(1 − β2^t)
 *   adagrad: G ← G + g²;  w −= lr·g / (√G + ε)
 *   rmsprop: s ← ρ·s + (1 − ρ)·g²;  w −= lr·g / (√s + ε)
 */
export class TfjsOptimizer {
  private readonly c: TrainConfig;
  private readonly first: (tf.Variable | undefined)[];
  private readonly second: (tf.Variable | undefined)[];
  private t = 0;

  /** `trainable` (per variable; all when absent): frozen variables get no state and no step. */
  constructor(config: TrainConfig, vars: readonly tf.Variable[], trainable?: readonly boolean[]) {
    this.c = config;
    const zeros = () => tf.tidy(() => vars.map((v, i) => (trainable && !trainable[i] ? undefined : tf.variable(tf.zerosLike(v), false))));
    this.first = config.optimizer === 'sgd' && config.momentum === 0 ? [] : zeros();
    this.second = config.optimizer === 'adam' ? zeros() : [];
  }

  /** Applies one step with the (unscaled, mean) gradients, inside the caller's tidy; a variable without a gradient (frozen) is left alone. */
  apply(vars: readonly tf.Variable[], grads: readonly (tf.Tensor | undefined)[]): void {
    const c = this.c;
    this.t++;
    vars.forEach((w, i) => {
      const grad = grads[i];
      if (!grad) return;
      const g = c.weightDecay > 0 ? tf.add(grad, tf.mul(w, c.weightDecay)) : grad;
      switch (c.optimizer) {
        case 'sgd': {
          if (c.momentum === 0) {
            w.assign(tf.sub(w, tf.mul(g, c.lr)));
            return;
          }
          const v = this.first[i]!;
          v.assign(tf.add(tf.mul(v, c.momentum), g));
          w.assign(tf.sub(w, tf.mul(c.nesterov ? tf.add(g, tf.mul(v, c.momentum)) : v, c.lr)));
          return;
        }
        case 'adam': {
          const m = this.first[i]!;
          const v = this.second[i]!;
          m.assign(tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1)));
          v.assign(tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2)));
          const lrT = (c.lr * Math.sqrt(1 - c.beta2 ** this.t)) / (1 - c.beta1 ** this.t);
          const epsT = c.epsilon * Math.sqrt(1 - c.beta2 ** this.t);
          w.assign(tf.sub(w, tf.div(tf.mul(m, lrT), tf.add(tf.sqrt(v), epsT))));
          return;
        }
        case 'adagrad':
        case 'rmsprop': {
          const a = this.first[i]!;
          a.assign(c.optimizer === 'adagrad' ? tf.add(a, tf.square(g)) : tf.add(tf.mul(a, c.rho), tf.mul(tf.square(g), 1 - c.rho)));
          w.assign(tf.sub(w, tf.div(tf.mul(g, c.lr), tf.add(tf.sqrt(a), c.epsilon))));
          return;
        }
      }
    });
  }

  dispose(): void {
    for (const v of [...this.first, ...this.second]) v?.dispose();
  }
}
