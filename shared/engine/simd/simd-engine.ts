import { viewSize, type DataView, type Dataset } from '../../data/dataset.ts';
import { DataError, StarlingError } from '../../errors.ts';
import type { MlpSpec, ModelSpec } from '../../models/spec.ts';
import { mulberry32, permutation } from '../../rng.ts';
import { paramCount, subtract } from '../../weights.ts';
import type { Engine, EvalMetrics, TrainConfig, TrainResult } from '../engine.ts';
import { Arena } from './arena.ts';
import { Activation, instantiateKernels, kernelsUnavailable, type KernelExports } from './kernels.ts';

/** Rows per forward pass when evaluating. */
const EVAL_CHUNK = 256;

/** Why the simd engine cannot run `spec`, or undefined when it can. */
export function simdUnsupported(spec: ModelSpec): string | undefined {
  const why = kernelsUnavailable();
  if (why) return why;
  if (spec.type !== 'mlp') return `the simd engine has no kernels for model type "${(spec as { type: string }).type}"`;
  return undefined;
}

/**
 * Buffers of one MLP at one batch size, laid out once in the kernel memory:
 * the parameters in the flat layout of shared/weights.ts (so weights go in and
 * out with one copy), per-layer activations, backprop scratch and optimizer state.
 */
class MlpWorkspace {
  readonly sizes: number[];
  readonly batch: number;
  readonly params: number;
  readonly paramCount: number;
  readonly w: number[] = [];
  readonly b: number[] = [];
  /** acts[l]: [batch, sizes[l]]; acts[0] is the input batch, acts[L] the logits, then their gradient. */
  readonly acts: number[] = [];
  /** grads[l]: [batch, sizes[l]] backprop scratch for hidden layers. */
  readonly deltas: number[] = [];
  readonly transposed: number;
  readonly labels: number;
  /** K i32s for the sparse GEMM's index lists. */
  readonly scratch: number;
  readonly stats: number;
  /** Gradient and velocity regions (flat layout), present when the optimizer needs them. */
  readonly grad: number;
  readonly velocity: number;

  constructor(arena: Arena, spec: MlpSpec, batch: number, withOptimizerState: boolean) {
    this.sizes = [spec.inputs, ...spec.hidden, spec.outputs];
    this.batch = batch;
    this.paramCount = paramCount(spec);
    this.params = arena.alloc(this.paramCount * 4);
    let offset = this.params;
    for (let l = 1; l < this.sizes.length; l++) {
      this.w.push(offset);
      offset += this.sizes[l - 1]! * this.sizes[l]! * 4;
      this.b.push(offset);
      offset += this.sizes[l]! * 4;
    }
    let widest = 0;
    for (let l = 0; l < this.sizes.length; l++) {
      this.acts.push(arena.alloc(batch * this.sizes[l]! * 4));
      this.deltas.push(l > 0 && l < this.sizes.length - 1 ? arena.alloc(batch * this.sizes[l]! * 4) : -1);
      if (l > 0) widest = Math.max(widest, this.sizes[l - 1]! * Math.max(batch, this.sizes[l]!));
    }
    this.transposed = arena.alloc(widest * 4);
    this.labels = arena.alloc(batch);
    this.scratch = arena.alloc(Math.max(spec.inputs, batch) * 4);
    this.stats = arena.alloc(16);
    this.grad = withOptimizerState ? arena.alloc(this.paramCount * 4) : -1;
    this.velocity = withOptimizerState ? arena.alloc(this.paramCount * 4) : -1;
  }
}

/**
 * The simd engine: dense networks trained by Starling's own WebAssembly SIMD
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
   * `sparseInput` (default true) lets the input layer's GEMMs skip zero inputs;
   * the results are the same bits either way (the benchmark measures both).
   */
  static create(opts: { sparseInput?: boolean } = {}): SimdEngine {
    return new SimdEngine(opts.sparseInput ?? true);
  }

  async train(spec: ModelSpec, weights: Float32Array, data: DataView, config: TrainConfig, seed: number): Promise<TrainResult> {
    const mlp = checkSpec(spec, data.dataset, weights);
    const n = viewSize(data);
    if (n === 0) throw new DataError('cannot train on an empty shard');
    return this.guard(() => this.trainMlp(mlp, weights, data, n, config, seed));
  }

  async evaluate(spec: ModelSpec, weights: Float32Array, data: DataView): Promise<EvalMetrics> {
    const mlp = checkSpec(spec, data.dataset, weights);
    const n = viewSize(data);
    if (n === 0) throw new DataError('cannot evaluate on an empty dataset');
    return this.guard(() => this.evaluateMlp(mlp, weights, data, n));
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

  private trainMlp(spec: MlpSpec, weights: Float32Array, data: DataView, n: number, config: TrainConfig, seed: number): TrainResult {
    const { k, arena } = this;
    const batch = Math.min(config.batchSize, n);
    const fused = config.momentum === 0;
    const ws = new MlpWorkspace(arena, spec, batch, !fused);
    arena.f32(ws.params, ws.paramCount).set(weights);
    if (!fused) arena.f32(ws.velocity, ws.paramCount).fill(0);
    const L = ws.sizes.length - 1;
    const act = Activation[spec.activation];
    const rng = mulberry32(seed);
    const stats = arena.f64(ws.stats, 2);
    let lossSum = 0;
    let correct = 0;
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const order = permutation(n, rng);
      stats.fill(0);
      for (let start = 0; start < n; start += batch) {
        const m = Math.min(batch, n - start);
        gatherBatch(arena, ws, data, order, start, m);
        this.forward(ws, m, act);
        // the output gradient, pre-scaled by lr/m when the SGD step is fused into the weight-gradient GEMM
        k.softmaxCrossEntropy(m, ws.sizes[L]!, ws.acts[L]!, ws.labels, fused ? config.lr / m : 1 / m, ws.stats);
        for (let l = L; l >= 1; l--) {
          const g = l === L ? ws.acts[L]! : ws.deltas[l]!;
          const fanIn = ws.sizes[l - 1]!;
          const fanOut = ws.sizes[l]!;
          if (l > 1) {
            // δ_{l−1} = (δ_l · W_lᵀ) ⊙ act′(a_{l−1}), before W_l changes
            k.transpose(fanIn, fanOut, ws.w[l - 1]!, ws.transposed);
            k.gemm(m, fanIn, fanOut, g, fanOut, ws.transposed, fanIn, ws.deltas[l - 1]!, fanIn, 1, 0);
            k.activationGrad(m * fanIn, ws.deltas[l - 1]!, ws.acts[l - 1]!, act);
          }
          // ∇W_l = a_{l−1}ᵀ · δ_l, through an explicit transpose so the GEMM streams rows
          k.transpose(m, fanIn, ws.acts[l - 1]!, ws.transposed);
          if (fused) {
            this.inputGemm(l, fanIn, fanOut, m, ws.transposed, m, g, fanOut, ws.w[l - 1]!, fanOut, -1, 1, ws.scratch);
            k.columnSum(m, fanOut, g, ws.b[l - 1]!, -1, 1);
          } else {
            const gw = ws.grad + (ws.w[l - 1]! - ws.params);
            const gb = ws.grad + (ws.b[l - 1]! - ws.params);
            this.inputGemm(l, fanIn, fanOut, m, ws.transposed, m, g, fanOut, gw, fanOut, 1, 0, ws.scratch);
            k.columnSum(m, fanOut, g, gb, 1, 0);
          }
        }
        if (!fused) k.sgdUpdate(ws.paramCount, ws.params, ws.grad, ws.velocity, config.lr, config.momentum, 0, 0);
      }
      lossSum = stats[0]!;
      correct = stats[1]!;
    }
    const local = Float32Array.from(arena.f32(ws.params, ws.paramCount));
    return { delta: subtract(local, weights), numExamples: n, metrics: { loss: lossSum / n, accuracy: correct / n } };
  }

  private evaluateMlp(spec: MlpSpec, weights: Float32Array, data: DataView, n: number): EvalMetrics {
    const { k, arena } = this;
    const chunk = Math.min(EVAL_CHUNK, n);
    const ws = new MlpWorkspace(arena, spec, chunk, false);
    arena.f32(ws.params, ws.paramCount).set(weights);
    const L = ws.sizes.length - 1;
    const stats = arena.f64(ws.stats, 2);
    stats.fill(0);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      gatherBatch(arena, ws, data, order, start, m);
      this.forward(ws, m, Activation[spec.activation]);
      k.softmaxCrossEntropy(m, ws.sizes[L]!, ws.acts[L]!, ws.labels, 0, ws.stats);
    }
    return { loss: stats[0]! / n, accuracy: stats[1]! / n, numExamples: n };
  }

  /**
   * A GEMM whose A operand is layer l's input. The first layer's input is the data,
   * often mostly zeros (MNIST pixels), so it takes the sparse-A kernel (same bits).
   */
  private inputGemm(l: number, M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, beta: number, scratch: number): void {
    if (l === 1 && this.sparseInput) this.k.gemmSparseA(M, N, K, a, lda, b, ldb, c, ldc, alpha, beta, scratch);
    else this.k.gemm(M, N, K, a, lda, b, ldb, c, ldc, alpha, beta);
  }

  private forward(ws: MlpWorkspace, m: number, act: number): void {
    const L = ws.sizes.length - 1;
    for (let l = 1; l <= L; l++) {
      const fanIn = ws.sizes[l - 1]!;
      const fanOut = ws.sizes[l]!;
      this.inputGemm(l, m, fanOut, fanIn, ws.acts[l - 1]!, fanIn, ws.w[l - 1]!, fanOut, ws.acts[l]!, fanOut, 1, 0, ws.scratch);
      this.k.biasActivate(m, fanOut, ws.acts[l]!, ws.b[l - 1]!, l < L ? act : Activation.identity);
    }
  }
}

/** Copies rows order[start .. start+m) of the view into the input and label buffers. */
function gatherBatch(arena: Arena, ws: MlpWorkspace, view: DataView, order: Uint32Array, start: number, m: number): void {
  const { x, y, features } = view.dataset;
  const xs = arena.f32(ws.acts[0]!, m * features);
  const labels = arena.u8(ws.labels, m);
  for (let i = 0; i < m; i++) {
    const p = order[start + i]!;
    const row = view.indices ? view.indices[p]! : p;
    xs.set(x.subarray(row * features, (row + 1) * features), i * features);
    labels[i] = y[row]!;
  }
}

function checkSpec(spec: ModelSpec, ds: Dataset, weights: Float32Array): MlpSpec {
  const why = simdUnsupported(spec);
  if (why) throw new StarlingError('E_ENGINE', why);
  if (spec.inputs !== ds.features) throw new DataError(`the model takes ${spec.inputs} inputs but the data has ${ds.features} features`);
  if (spec.outputs !== ds.classes) throw new DataError(`the model predicts ${spec.outputs} classes but the data has ${ds.classes}`);
  const expected = paramCount(spec);
  if (weights.length !== expected) throw new DataError(`got ${weights.length} weights, the model has ${expected}`);
  return spec;
}
