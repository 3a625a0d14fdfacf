import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '../backend.ts';
import { viewSize, type DataView } from '../data/dataset.ts';
import type { Logger } from '../log.ts';
import type { Activation, MlpSpec, ModelSpec } from '../models/spec.ts';
import { deriveSeed, mulberry32, permutation } from '../rng.ts';
import { trainableLayout } from '../trainable.ts';
import { paramShapes, subtract, unflatten } from '../weights.ts';
import type { Engine, EvalMetrics, TrainConfig, TrainResult } from './engine.ts';
import { DataError } from '../errors.ts';
import { anchorsFor, checkSpec, disposeAll, gatherAll, gatherShuffled, lossAndCorrect, proximalStep, readFlat, TfjsOptimizer, variablesFrom } from './tfjs-common.ts';
import { evaluateGraph, predictGraph, trainGraph } from './tfjs-graph.ts';
import { evaluateGan, trainGan } from './tfjs-nets/gan.ts';
import { activate } from './tfjs-nets/layers.ts';
import { registerWasmKernels } from './tfjs-wasm-kernels.ts';
import { kernelsUnavailable } from './simd/kernels.ts';

/**
 * The tfjs engine. MLPs train in a lean hand-written loop of tfjs kernels;
 * the other classifiers (cnn, rnn, transformer) through tfjs autodiff
 * (tfjs-graph.ts), the gan in its adversarial loop (tfjs-nets/gan.ts).
 *
 * Why not `model.fit` or `optimizer.minimize`? On the wasm backend their per-op
 * overhead dominates small models (DESIGN.md §12). This loop writes the forward
 * and backward passes directly (softmax cross-entropy gradient in closed form),
 * folds the learning rate into the output gradient so each update is a single
 * subtraction, never uses transposed matMul (wasm runs those ~10× slower than an
 * explicit transpose + plain matMul), and builds each batch from a subarray of one
 * shuffled copy of the shard (tf.slice of a large tensor is slow on wasm).
 */
export class TfjsEngine implements Engine {
  readonly name = 'tfjs';
  readonly backend: BackendName;

  private constructor(backend: BackendName) {
    this.backend = backend;
  }

  /**
   * On the wasm backend, Starling's SIMD kernels supply the missing
   * Conv2DBackpropFilter and replace the slow transposed matrix multiplies and
   * Conv2DBackpropInput (tfjs-wasm-kernels.ts); `simdKernels: false` adds only the
   * missing kernel (the benchmark compares both).
   */
  static async create(backend?: string, log?: Logger, opts: { simdKernels?: boolean } = {}): Promise<TfjsEngine> {
    const name = await selectBackend(backend, log);
    if (name === 'wasm') {
      const why = kernelsUnavailable();
      if (why) log?.warn(`tfjs-wasm keeps its own kernels and cannot train conv nets: ${why}`);
      else registerWasmKernels({ missingOnly: opts.simdKernels === false });
    }
    return new TfjsEngine(name);
  }

  async train(spec: ModelSpec, weights: Float32Array, data: DataView, config: TrainConfig, seed: number): Promise<TrainResult> {
    checkSpec(spec, data.dataset);
    const n = viewSize(data);
    if (n === 0) throw new DataError('cannot train on an empty shard');
    if (spec.type === 'gan') return trainGan(spec, weights, data, n, config, seed);
    if (spec.type !== 'mlp') return trainGraph(spec, weights, data, n, config, seed);
    const mlp = spec;
    const shapes = paramShapes(mlp);
    // frozen variables get no gradient, no step, no optimizer state and no proximal step
    // (names checked before any tensor exists, so a bad one leaks nothing)
    const { trainable } = trainableLayout(mlp, config.frozen);
    const vars = variablesFrom(weights, shapes);
    const anchors = anchorsFor(weights, shapes, config.mu, trainable);
    // plain SGD folds the learning rate into the output gradient; every other optimizer gets the mean gradient
    const plain = config.optimizer === 'sgd' && config.momentum === 0 && config.weightDecay === 0;
    const optimizer = plain ? undefined : new TfjsOptimizer(config, vars, trainable);
    const rng = mulberry32(seed);
    const { features, classes } = data.dataset;
    const xs = new Float32Array(n * features);
    const ys = new Float32Array(n * classes);
    const labels = new Uint8Array(n);
    let lossSum = 0;
    let correct = 0;
    try {
      for (let epoch = 0; epoch < config.epochs; epoch++) {
        gatherShuffled(data, permutation(n, rng), xs, ys, labels);
        const last = epoch === config.epochs - 1;
        const stats = last ? tf.tidy(() => tf.variable(tf.zeros([2]), false)) : undefined;
        for (let start = 0; start < n; start += config.batchSize) {
          const b = Math.min(config.batchSize, n - start);
          tf.tidy(() => {
            const x = tf.tensor2d(xs.subarray(start * features, (start + b) * features), [b, features]);
            const y = tf.tensor2d(ys.subarray(start * classes, (start + b) * classes), [b, classes]);
            const grads = mlpStep(mlp, vars, trainable, x, y, plain ? config.lr / b : 1 / b, stats, deriveSeed(seed, epoch, start) & 0x7fffffff);
            if (optimizer) optimizer.apply(vars, grads);
            else
              vars.forEach((v, i) => {
                const g = grads[i];
                if (g) v.assign(tf.sub(v, g));
              });
            proximalStep(vars, anchors, config.lr * config.mu);
          });
        }
        if (stats) {
          const [l, c] = stats.dataSync();
          lossSum = l!;
          correct = c!;
          stats.dispose();
        }
      }
      return { delta: subtract(readFlat(vars, weights.length), weights), numExamples: n, metrics: { loss: lossSum / n, accuracy: correct / n, epochs: config.epochs } };
    } finally {
      for (const v of vars) v.dispose();
      optimizer?.dispose();
      disposeAll(anchors);
    }
  }

  async evaluate(spec: ModelSpec, weights: Float32Array, data: DataView): Promise<EvalMetrics> {
    checkSpec(spec, data.dataset);
    const n = viewSize(data);
    if (n === 0) throw new DataError('cannot evaluate on an empty dataset');
    if (spec.type === 'gan') return evaluateGan(spec, weights, data, n);
    if (spec.type !== 'mlp') return evaluateGraph(spec, weights, data, n);
    const mlp = spec;
    const shapes = paramShapes(mlp);
    const { features, classes } = data.dataset;
    const { xs, ys } = gatherAll(data, n);
    const params = unflatten(weights, shapes).map((w, i) => tf.tensor(w, shapes[i]!.shape as number[]));
    const totals = tf.tidy(() => {
      const chunk = 1000;
      let acc = tf.zeros([2]);
      for (let start = 0; start < n; start += chunk) {
        const b = Math.min(chunk, n - start);
        const x = tf.tensor2d(xs.subarray(start * features, (start + b) * features), [b, features]);
        const y = tf.tensor2d(ys.subarray(start * classes, (start + b) * classes), [b, classes]);
        acc = tf.add(acc, lossAndCorrect(mlpForward(mlp, params, x).logits, y));
      }
      return acc;
    });
    const [lossSum, correct] = totals.dataSync();
    totals.dispose();
    for (const p of params) p.dispose();
    return { loss: lossSum! / n, accuracy: correct! / n, numExamples: n };
  }

  async predict(spec: ModelSpec, weights: Float32Array, data: DataView): Promise<Float32Array> {
    checkSpec(spec, data.dataset);
    const n = viewSize(data);
    if (n === 0) throw new DataError('cannot predict on an empty dataset');
    if (spec.type === 'gan') throw new DataError('a gan predicts no classes; score it with evaluate');
    if (spec.type !== 'mlp') return predictGraph(spec, weights, data, n);
    const shapes = paramShapes(spec);
    const { features, classes } = data.dataset;
    const { xs } = gatherAll(data, n);
    const params = unflatten(weights, shapes).map((w, i) => tf.tensor(w, shapes[i]!.shape as number[]));
    const out = new Float32Array(n * classes);
    try {
      const chunk = 1000;
      for (let start = 0; start < n; start += chunk) {
        const b = Math.min(chunk, n - start);
        const probs = tf.tidy(() => tf.softmax(mlpForward(spec, params, tf.tensor2d(xs.subarray(start * features, (start + b) * features), [b, features])).logits));
        out.set(probs.dataSync(), start * classes);
        probs.dispose();
      }
    } finally {
      for (const p of params) p.dispose();
    }
    return out;
  }
}


interface Forward {
  logits: tf.Tensor2D;
  /** Each layer's input (after dropout), the data first. */
  acts: tf.Tensor2D[];
  /** Each hidden layer's pre-activation, activation before dropout, and dropout mask. */
  pre: tf.Tensor2D[];
  post: tf.Tensor2D[];
  masks: (tf.Tensor2D | undefined)[];
}

/** Forward pass; with `dropoutSeed` (training) hidden layers apply the spec's inverted dropout. */
function mlpForward(spec: MlpSpec, params: readonly tf.Tensor[], x: tf.Tensor2D, dropoutSeed?: number): Forward {
  const layers = params.length / 2;
  const f: Forward = { logits: x, acts: [x], pre: [], post: [], masks: [] };
  const p = spec.dropout ?? 0;
  let h = x;
  for (let l = 0; l < layers; l++) {
    const z = tf.add(tf.matMul(h, params[2 * l] as tf.Tensor2D), params[2 * l + 1]!) as tf.Tensor2D;
    if (l === layers - 1) return { ...f, logits: z };
    f.pre.push(z);
    h = activate(z, spec.activation) as tf.Tensor2D;
    f.post.push(h);
    const mask = dropoutSeed !== undefined && p > 0 ? (tf.div(tf.step(tf.sub(tf.randomUniform(h.shape, 0, 1, 'float32', dropoutSeed + l), p)), 1 - p) as tf.Tensor2D) : undefined;
    f.masks.push(mask);
    if (mask) h = tf.mul(h, mask);
    f.acts.push(h);
  }
  throw new Error('unreachable: an MLP has at least one layer');
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
 * One SGD step's gradients, already multiplied by the learning rate
 * (`scale` = lr / batch): the caller subtracts them. Adds [loss, correct] into
 * `stats` when given. Frozen variables get no gradient (undefined), and the
 * backward pass stops below the first layer that trains.
 */
function mlpStep(spec: MlpSpec, vars: tf.Variable[], trainable: readonly boolean[], x: tf.Tensor2D, y: tf.Tensor2D, scale: number, stats: tf.Variable | undefined, dropoutSeed: number): (tf.Tensor | undefined)[] {
  const f = mlpForward(spec, vars, x, dropoutSeed);
  if (stats) stats.assign(tf.add(stats, lossAndCorrect(f.logits, y)));
  let g = tf.mul(tf.sub(tf.softmax(f.logits), y), scale) as tf.Tensor2D;
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

