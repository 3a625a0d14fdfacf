import { outputSize, resolveCnn, type ResolvedLayer } from '../../models/cnn.ts';
import type { MlpSpec } from '../../models/mlp.ts';
import { inputSize, paramCount, type SpecOf } from '../../models/registry.ts';
import type { ModelSpec, ModelType } from '../../models/spec.ts';
import type { Arena } from './arena.ts';

/**
 * A model as the simd engine sees it: a list of resolved layers (an MLP is a list
 * of dense layers) and, once laid out for a batch size, every buffer a training
 * step touches — allocated once in the kernel memory and reused for every step.
 */
export interface SimdNetwork {
  readonly layers: ResolvedLayer[];
  readonly inputSize: number;
  readonly paramCount: number;
}

function mlpLayers(spec: MlpSpec): ResolvedLayer[] {
  const sizes = [spec.inputs, ...spec.hidden, spec.outputs];
  return sizes.slice(1).map((units, i) => ({
    kind: 'dense' as const,
    inputs: sizes[i]!,
    units,
    activation: i === sizes.length - 2 ? ('identity' as const) : spec.activation,
    dropout: i === sizes.length - 2 ? 0 : (spec.dropout ?? 0),
  }));
}

/** The layers of each architecture the SIMD kernels cover (dense, conv, max-pooling); undefined for the others. */
const SIMD_LAYERS: { readonly [T in ModelType]: ((spec: SpecOf<T>) => ResolvedLayer[]) | undefined } = {
  mlp: mlpLayers,
  cnn: resolveCnn,
  rnn: undefined,
  transformer: undefined,
  gan: undefined,
  tfjs: undefined,
};

/** `spec` as SIMD layers, or undefined when the kernels do not cover its architecture. */
export function simdNetwork(spec: ModelSpec): SimdNetwork | undefined {
  // the table is keyed by type, so the resolver found takes this spec
  const resolve = SIMD_LAYERS[spec.type] as ((spec: ModelSpec) => ResolvedLayer[]) | undefined;
  return resolve && { layers: resolve(spec), inputSize: inputSize(spec), paramCount: paramCount(spec) };
}

/** Rows of the GEMMs a layer runs per batch (output pixels for conv, examples for dense). */
export function gemmRows(l: ResolvedLayer, batch: number): number {
  return l.kind === 'conv' ? batch * l.outH * l.outW : batch;
}

/** Inner dimension of a conv layer's patch matrix: k·k·C. */
export function patchSize(l: ResolvedLayer & { kind: 'conv' }): number {
  return l.kernel * l.kernel * l.inC;
}

export interface LayerBuffers {
  /** Kernel and bias offsets (conv, dense). */
  readonly w: number;
  readonly b: number;
  /** This layer's output [batch, outputSize]. */
  readonly out: number;
  /** Gradient with respect to the output (hidden layers); the last layer reuses `out`. */
  readonly grad: number;
  /** conv: the patch matrix of the forward pass, kept for the weight gradient. */
  readonly aux: number;
  /** dense with dropout: the mask (0 or 1/(1 − p)) and the activations before it. */
  readonly mask: number;
  readonly pre: number;
}

export class NetworkWorkspace {
  readonly layers: ResolvedLayer[];
  readonly batch: number;
  readonly inputSize: number;
  readonly paramCount: number;
  readonly params: number;
  readonly input: number;
  readonly buffers: LayerBuffers[] = [];
  /** Scratch for transposes and transposed weight gradients. */
  readonly scratchA: number;
  readonly scratchB: number;
  /** i32 index lists of the sparse GEMM. */
  readonly indexList: number;
  readonly labels: number;
  readonly stats: number;
  /** Flat gradient and optimizer-state regions (momentum / first moment / accumulator, second moment), when used. */
  readonly grad: number;
  readonly velocity: number;
  readonly second: number;

  /** `state`: 0 = fused SGD (no buffers), else a gradient and this many state buffers (at most 2). */
  constructor(arena: Arena, net: SimdNetwork, batch: number, state: number) {
    this.layers = net.layers;
    this.batch = batch;
    this.inputSize = net.inputSize;
    this.paramCount = net.paramCount;
    this.params = arena.alloc(this.paramCount * 4);
    this.input = arena.alloc(batch * this.inputSize * 4);
    let offset = this.params;
    let scratch = batch * this.inputSize;
    let index = Math.max(batch, this.inputSize);
    const last = this.layers.length - 1;
    for (const [i, l] of this.layers.entries()) {
      let w = -1;
      let b = -1;
      let aux = -1;
      if (l.kind === 'dense') {
        w = offset;
        b = w + l.inputs * l.units * 4;
        offset = b + l.units * 4;
        scratch = Math.max(scratch, l.inputs * Math.max(l.units, batch));
        index = Math.max(index, l.inputs, l.units);
      } else if (l.kind === 'conv') {
        const K = patchSize(l);
        const M = gemmRows(l, batch);
        w = offset;
        b = w + K * l.filters * 4;
        offset = b + l.filters * 4;
        aux = arena.alloc(M * K * 4);
        scratch = Math.max(scratch, K * l.filters, M * l.filters);
        index = Math.max(index, M, K, l.filters);
      }
      const out = arena.alloc(batch * outputSize(l) * 4);
      const grad = i < last ? arena.alloc(batch * outputSize(l) * 4) : out;
      const dropout = l.kind === 'dense' && l.dropout > 0;
      const mask = dropout ? arena.alloc(batch * outputSize(l) * 4) : -1;
      const pre = dropout ? arena.alloc(batch * outputSize(l) * 4) : -1;
      this.buffers.push({ w, b, out, grad, aux, mask, pre });
    }
    this.scratchA = arena.alloc(scratch * 4);
    this.scratchB = arena.alloc(scratch * 4);
    this.indexList = arena.alloc(index * 4);
    this.labels = arena.alloc(batch);
    this.stats = arena.alloc(16);
    this.grad = state > 0 ? arena.alloc(this.paramCount * 4) : -1;
    this.velocity = state > 0 ? arena.alloc(this.paramCount * 4) : -1;
    this.second = state > 1 ? arena.alloc(this.paramCount * 4) : -1;
  }

  /** Output offset of the layer before `i` (the input batch for layer 0). */
  inputOf(i: number): number {
    return i === 0 ? this.input : this.buffers[i - 1]!.out;
  }
}
