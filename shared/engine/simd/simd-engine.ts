import { viewSize, type DatasetView, type Dataset } from '../../data/dataset.ts';
import { DataError, StarlingError } from '../../errors.ts';
import { outputSize } from '../../models/cnn.ts';
import { isRegression } from '../../models/registry.ts';
import type { ModelSpec } from '../../models/spec.ts';
import { stateSlots } from '../../optimizers/registry.ts';
import { isPlainSgd } from '../../optimizers/sgd.ts';
import { deriveSeed, mulberry32, permutation } from '../../rng.ts';
import type { TrainConfig } from '../../train-config.ts';
import { trainableLayout, type Segment } from '../../trainable.ts';
import { subtract } from '../../weights.ts';
import { checkData } from '../check.ts';
import type { Engine, EvalMetrics, FitOptions, TrainResult } from '../engine.ts';
import { Arena } from './arena.ts';
import { Activation, instantiateKernels, kernelsUnavailable, type KernelExports } from './kernels.ts';
import { gemmRows, NetworkWorkspace, patchSize, simdNetwork, type SimdNetwork } from './network.ts';
import { SIMD_UPDATES } from './optimizers.ts';

/** Rows per forward pass when evaluating. */
const EVAL_CHUNK = 256;

/** Why the simd engine cannot run `spec`, or undefined when it can (it runs every classifying mlp and cnn spec). */
export function simdUnsupported(spec: ModelSpec): string | undefined {
  // a user's tfjs model may hold any tfjs layer: only tfjs runs it, whatever its layers are
  if (spec.type === 'tfjs') return 'a tfjs layers model (model type "tfjs") runs on the tfjs engine only';
  // its kernels' output layer is softmax cross-entropy
  if (isRegression(spec)) return 'a regression model (an mlp with loss mse) runs on the tfjs engine only';
  return kernelsUnavailable() ?? (simdNetwork(spec) ? undefined : `the simd engine has no kernels for model type "${spec.type}"`);
}

/**
 * The simd engine: MLPs and CNNs trained by Starling's own WebAssembly SIMD
 * kernels (shared/engine/simd/assembly). Same flat weight layout as the tfjs
 * engine, so results of both aggregate together. Deterministic: the same inputs
 * and seed give the same bytes on every machine (no FMA, fixed summation order).
 */
export class SimdEngine implements Engine {
  readonly name = 'simd';
  readonly backend = 'simd';
  private k: KernelExports;
  private arena: Arena;
  private readonly sparseInput: boolean;

  private constructor(sparseInput: boolean) {
    this.k = instantiateKernels();
    this.arena = new Arena(this.k);
    this.sparseInput = sparseInput;
  }

  /**
   * `sparseInput` (default true) lets GEMMs whose left operand is mostly zeros (the
   * input data, gradients after max-pooling) skip them; the results are the same
   * bits either way (the benchmark measures both).
   */
  static create(opts: { sparseInput?: boolean } = {}): SimdEngine {
    return new SimdEngine(opts.sparseInput ?? true);
  }

  async train(spec: ModelSpec, weights: Float32Array, data: DatasetView, config: TrainConfig & FitOptions, seed: number): Promise<TrainResult> {
    const net = checkSpec(spec, data.dataset, weights);
    const n = viewSize(data);
    if (n === 0) throw new DataError('cannot train on an empty shard');
    return this.guard(() => this.trainNetwork(spec, net, weights, data, n, config, seed));
  }

  async evaluate(spec: ModelSpec, weights: Float32Array, data: DatasetView): Promise<EvalMetrics> {
    const net = checkSpec(spec, data.dataset, weights);
    const n = viewSize(data);
    if (n === 0) throw new DataError('cannot evaluate on an empty dataset');
    return this.guard(() => this.evaluateNetwork(net, weights, data, n));
  }

  async predict(spec: ModelSpec, weights: Float32Array, data: DatasetView): Promise<Float32Array> {
    const net = checkSpec(spec, data.dataset, weights);
    const n = viewSize(data);
    if (n === 0) throw new DataError('cannot predict on an empty dataset');
    return this.guard(() => this.predictNetwork(net, weights, data, n));
  }

  /** A wasm trap leaves the instance in an unknown state: replace it and report the task failed. */
  private guard<T>(run: () => T): T {
    try {
      return run();
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) {
        this.k = instantiateKernels();
        this.arena = new Arena(this.k);
        throw new StarlingError('E_KERNEL_TRAP', `a SIMD kernel trapped (${err.message}); the kernel instance was replaced`, { cause: err });
      }
      throw err;
    } finally {
      this.arena.reset();
    }
  }

  private trainNetwork(
    spec: ModelSpec,
    net: SimdNetwork,
    weights: Float32Array,
    data: DatasetView,
    n: number,
    config: TrainConfig & FitOptions,
    seed: number,
  ): TrainResult {
    const { k, arena } = this;
    const batch = Math.min(config.batchSize, n);
    // plain SGD folds the step into the weight-gradient GEMMs; other optimizers keep a gradient and state
    // (at least one state buffer: the kernels take its pointer even when they do not read it)
    const fused = isPlainSgd(config);
    const workspace = new NetworkWorkspace(arena, net, batch, fused ? 0 : Math.max(1, stateSlots(config)));
    // frozen parameters get no gradient, no step and no optimizer state; backprop stops below the first trainable layer
    const layout = trainableLayout(spec, config.frozen ?? []);
    const trains = layerTrainability(workspace, layout.trainable);
    const first = trains.findIndex((t) => t.w || t.b);
    arena.f32(workspace.params, workspace.paramCount).set(weights);
    if (workspace.second >= 0) arena.f32(workspace.second, workspace.paramCount).fill(0);
    let step = 0;
    // dropout masks come from a xorshift stream seeded per task
    let dropState = (deriveSeed(seed, 0xd0) | 1) >>> 0;
    // FedProx: the global weights stay in memory as the proximal anchor
    const mu = config.mu ?? 0;
    const anchor = mu > 0 ? arena.alloc(workspace.paramCount * 4) : -1;
    if (anchor >= 0) arena.f32(anchor, workspace.paramCount).set(weights);
    const shrink = config.lr * mu;
    if (!fused) arena.f32(workspace.velocity, workspace.paramCount).fill(0);
    const last = workspace.layers.length - 1;
    const classes = outputSize(workspace.layers[last]!);
    const rng = mulberry32(seed);
    const stats = arena.f64(workspace.stats, 2);
    let lossSum = 0;
    let correct = 0;
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const order = permutation(n, rng);
      stats.fill(0);
      for (let start = 0; start < n; start += batch) {
        const m = Math.min(batch, n - start);
        gatherBatch(arena, workspace, data, order, start, m);
        dropState = this.forward(workspace, m, dropState) ?? dropState;
        // the output gradient, pre-scaled by lr/m when the SGD step is fused into the weight-gradient GEMMs
        k.softmaxCrossEntropy(m, classes, workspace.buffers[last]!.out, workspace.labels, fused ? config.lr / m : 1 / m, workspace.stats);
        for (let i = last; i >= first; i--) this.backward(workspace, i, m, fused, trains[i]!, i > first);
        if (!fused) this.update(workspace, config, ++step, layout.segments);
        if (anchor >= 0) {
          // w ← w − lr·μ·(w − w_global) = (1 − lr·μ)·w + lr·μ·w_global, on the trainable runs only
          for (const { offset, length } of layout.segments) {
            k.scale(length, workspace.params + offset * 4, 1 - shrink);
            k.axpy(length, shrink, anchor + offset * 4, workspace.params + offset * 4);
          }
        }
      }
      lossSum = stats[0]!;
      correct = stats[1]!;
    }
    // the delta straight from the kernel memory's view: one pass, one model-sized allocation
    return {
      delta: subtract(arena.f32(workspace.params, workspace.paramCount), weights),
      numExamples: n,
      metrics: { loss: lossSum / n, accuracy: correct / n, epochs: config.epochs },
    };
  }

  /** One optimizer step on the trainable runs of the flat parameters from the mean gradient in workspace.grad (t counts steps from 1). */
  private update(workspace: NetworkWorkspace, c: TrainConfig, t: number, segments: readonly Segment[]): void {
    for (const { offset, length: n } of segments) {
      const at = offset * 4;
      SIMD_UPDATES[c.optimizer](this.k, { n, w: workspace.params + at, g: workspace.grad + at, s1: workspace.velocity + at, s2: workspace.second + at }, c, t);
    }
  }

  private evaluateNetwork(net: SimdNetwork, weights: Float32Array, data: DatasetView, n: number): EvalMetrics {
    const { k, arena } = this;
    let stats: Float64Array | undefined;
    this.forwardInChunks(net, weights, data, n, (workspace, m) => {
      if (!stats) {
        stats = arena.f64(workspace.stats, 2);
        stats.fill(0);
      }
      const last = workspace.layers.length - 1;
      k.softmaxCrossEntropy(m, outputSize(workspace.layers[last]!), workspace.buffers[last]!.out, workspace.labels, 0, workspace.stats);
    });
    return { loss: stats![0]! / n, accuracy: stats![1]! / n, numExamples: n };
  }

  private predictNetwork(net: SimdNetwork, weights: Float32Array, data: DatasetView, n: number): Float32Array {
    const classes = outputSize(net.layers[net.layers.length - 1]!);
    const out = new Float32Array(n * classes);
    this.forwardInChunks(net, weights, data, n, (workspace, m, start) => {
      softmaxRowsInto(this.arena.f32(workspace.buffers[workspace.layers.length - 1]!.out, m * classes), classes, out, start * classes);
    });
    return out;
  }

  /** Runs the forward pass over the rows of `data` in order, a chunk at a time, handing each chunk's workspace to `each`. */
  private forwardInChunks(
    net: SimdNetwork,
    weights: Float32Array,
    data: DatasetView,
    n: number,
    each: (workspace: NetworkWorkspace, m: number, start: number) => void,
  ): void {
    const { arena } = this;
    const chunk = Math.min(EVAL_CHUNK, n);
    const workspace = new NetworkWorkspace(arena, net, chunk, 0);
    arena.f32(workspace.params, workspace.paramCount).set(weights);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      gatherBatch(arena, workspace, data, order, start, m);
      this.forward(workspace, m);
      each(workspace, m, start);
    }
  }

  /**
   * C = α·A·B + β·C through the sparse-A kernel when A is likely mostly zeros
   * (same bits as the dense kernel, which is faster on dense data).
   */
  private gemm(
    sparse: boolean,
    workspace: NetworkWorkspace,
    M: number,
    N: number,
    K: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    alpha: number,
    beta: number,
  ): void {
    if (sparse && this.sparseInput) this.k.gemmSparseA(M, N, K, a, lda, b, ldb, c, ldc, alpha, beta, workspace.indexList);
    else this.k.gemm(M, N, K, a, lda, b, ldb, c, ldc, alpha, beta);
  }

  /** Forward pass; with `dropState` (training) dense layers apply their dropout. Returns the advanced RNG state. */
  private forward(workspace: NetworkWorkspace, m: number, dropState?: number): number | undefined {
    const { k, arena } = this;
    for (const [i, l] of workspace.layers.entries()) {
      const x = workspace.inputOf(i);
      const buf = workspace.buffers[i]!;
      if (l.kind === 'dense') {
        this.gemm(i === 0 || workspace.layers[i - 1]!.kind !== 'dense', workspace, m, l.units, l.inputs, x, l.inputs, buf.w, l.units, buf.out, l.units, 1, 0);
        k.biasActivate(m, l.units, buf.out, buf.b, Activation[l.activation]);
        if (dropState !== undefined && l.dropout > 0) {
          arena.f32(buf.pre, m * l.units).set(arena.f32(buf.out, m * l.units));
          dropState = k.dropoutForward(m * l.units, buf.out, buf.mask, l.dropout, dropState) >>> 0;
        }
      } else if (l.kind === 'conv') {
        const K = patchSize(l);
        const M = gemmRows(l, m);
        k.im2col(m, l.inH, l.inW, l.inC, l.kernel, l.pad, l.outH, l.outW, x, buf.aux);
        this.gemm(true, workspace, M, l.filters, K, buf.aux, K, buf.w, l.filters, buf.out, l.filters, 1, 0);
        k.biasActivate(M, l.filters, buf.out, buf.b, Activation[l.activation]);
      } else {
        k.maxPool2Forward(m, l.inH, l.inW, l.inC, x, buf.out);
      }
    }
    return dropState;
  }

  /**
   * Layer i's backward pass: its output gradient (in buffers[i].grad) becomes the
   * gradient of its input (buffers[i − 1].grad) and of its parameters, which update
   * the weights at once (fused SGD) or land in the gradient region. A frozen kernel or
   * bias gets no gradient; `needDx` is false when no layer below trains.
   */
  private backward(workspace: NetworkWorkspace, i: number, m: number, fused: boolean, trains: LayerTrains, needDx: boolean): void {
    const { k, arena } = this;
    const l = workspace.layers[i]!;
    const buf = workspace.buffers[i]!;
    const g = buf.grad;
    const x = workspace.inputOf(i);
    const dx = needDx ? workspace.buffers[i - 1]!.grad : -1;
    if (l.kind === 'maxpool') {
      if (needDx) k.maxPool2Backward(m, l.inH, l.inW, l.inC, x, buf.out, g, dx);
      return;
    }
    if (l.kind === 'dense' && l.dropout > 0) {
      // through the mask, then the activation at its value before dropout
      k.multiplyInto(m * l.units, g, buf.mask);
      k.activationGrad(m * l.units, g, buf.pre, Activation[l.activation]);
    } else if (l.activation !== 'identity') k.activationGrad(m * outputSize(l), g, buf.out, Activation[l.activation]);
    const gradW = fused ? -1 : workspace.grad + (buf.w - workspace.params);
    const gradB = fused ? -1 : workspace.grad + (buf.b - workspace.params);
    if (l.kind === 'dense') {
      // δx = δ · Wᵀ, before W changes. With many units the dot-product form reads W once,
      // as stored; with few (short dot products) an explicit transpose + GEMM is faster.
      if (needDx && l.units >= 64) k.gemmNT(m, l.inputs, l.units, g, l.units, buf.w, l.units, dx, l.inputs, 1, 0);
      else if (needDx) {
        k.transpose(l.inputs, l.units, buf.w, workspace.scratchA);
        k.gemm(m, l.inputs, l.units, g, l.units, workspace.scratchA, l.inputs, dx, l.inputs, 1, 0);
      }
      if (trains.w) {
        // ∇W = xᵀ · δ through an explicit transpose, so the GEMM streams rows
        k.transpose(m, l.inputs, x, workspace.scratchA);
        if (fused) this.gemm(i === 0, workspace, l.inputs, l.units, m, workspace.scratchA, m, g, l.units, buf.w, l.units, -1, 1);
        else this.gemm(i === 0, workspace, l.inputs, l.units, m, workspace.scratchA, m, g, l.units, gradW, l.units, 1, 0);
      }
      if (trains.b) k.columnSum(m, l.units, g, fused ? buf.b : gradB, fused ? -1 : 1, fused ? 1 : 0);
      return;
    }
    // conv: ∇Wᵀ = δᵀ · cols — δ after max-pooling is mostly zeros, so it is the sparse operand
    const K = patchSize(l);
    const M = gemmRows(l, m);
    const F = l.filters;
    if (trains.w) {
      k.transpose(M, F, g, workspace.scratchA);
      this.gemm(true, workspace, F, K, M, workspace.scratchA, M, buf.aux, K, workspace.scratchB, K, 1, 0);
      k.transpose(F, K, workspace.scratchB, fused ? workspace.scratchA : gradW);
    }
    if (needDx) k.transpose(K, F, buf.w, workspace.scratchB); // Wᵀ for δx, before W changes
    if (fused && trains.w) k.axpy(K * F, -1, workspace.scratchA, buf.w);
    if (trains.b) k.columnSum(M, F, g, fused ? buf.b : gradB, fused ? -1 : 1, fused ? 1 : 0);
    if (needDx) {
      // δcols = δ · Wᵀ into the patch buffer (no longer needed), then back onto the image
      this.gemm(true, workspace, M, K, F, g, F, workspace.scratchB, K, buf.aux, K, 1, 0);
      arena.f32(dx, m * l.inH * l.inW * l.inC).fill(0);
      k.col2im(m, l.inH, l.inW, l.inC, l.kernel, l.pad, l.outH, l.outW, buf.aux, dx);
    }
  }
}

/** Whether a layer's kernel and bias train. */
interface LayerTrains {
  readonly w: boolean;
  readonly b: boolean;
}

/** Per layer of the workspace: does its kernel / bias train? Parameters come kernel then bias per layer, in paramShapes order. */
function layerTrainability(workspace: NetworkWorkspace, trainable: readonly boolean[]): LayerTrains[] {
  let p = 0;
  return workspace.layers.map((l) => {
    if (l.kind === 'maxpool') return { w: false, b: false };
    const t = { w: trainable[p]!, b: trainable[p + 1]! };
    p += 2;
    return t;
  });
}

/** Copies rows order[start .. start+m) of the view into the input and label buffers. */
function gatherBatch(arena: Arena, workspace: NetworkWorkspace, view: DatasetView, order: Uint32Array, start: number, m: number): void {
  const { x, y, features } = view.dataset;
  const xs = arena.f32(workspace.input, m * features);
  const labels = arena.u8(workspace.labels, m);
  for (let i = 0; i < m; i++) {
    const p = order[start + i]!;
    const row = view.indices ? view.indices[p]! : p;
    xs.set(x.subarray(row * features, (row + 1) * features), i * features);
    labels[i] = y[row]!;
  }
}

/** Row-wise softmax of `logits` (rows of `classes`), in float64, written into out[at ..]. */
function softmaxRowsInto(logits: Float32Array, classes: number, out: Float32Array, at: number): void {
  for (let r = 0; r < logits.length; r += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[r + c]! - max);
    for (let c = 0; c < classes; c++) out[at + r + c] = Math.exp(logits[r + c]! - max) / sum;
  }
}

/** The network of `spec` once the data and weights are found to fit it. */
function checkSpec(spec: ModelSpec, ds: Dataset, weights: Float32Array): SimdNetwork {
  const why = simdUnsupported(spec);
  if (why) throw new StarlingError('E_ENGINE', why);
  checkData(spec, ds);
  const net = simdNetwork(spec)!;
  if (weights.length !== net.paramCount) throw new DataError(`got ${weights.length} weights, the model has ${net.paramCount}`);
  return net;
}
