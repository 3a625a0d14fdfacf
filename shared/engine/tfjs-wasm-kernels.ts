import * as tf from '@tensorflow/tfjs-core';
import { instantiateSharedKernels, type SharedKernelExports } from './simd/kernels.ts';

/**
 * Starling's SIMD kernels registered into tfjs-backend-wasm, working directly on
 * its heap (no copies):
 *  - BatchMatMul and _FusedMatMul: tfjs-wasm's fast (XNNPACK) path covers only
 *    untransposed products; backprop's transposed ones fall back to a scalar loop.
 *    Here those become an explicit SIMD transpose + Starling's register-tiled GEMM.
 *    Untransposed products, and cases outside float32 / linear-or-relu, go to the
 *    original kernel.
 *  - Conv2DBackpropFilter, which tfjs-backend-wasm lacks (conv nets cannot train on
 *    it otherwise): im2col + transpose + GEMM, for stride 1 NHWC convolutions.
 *  - Conv2DBackpropInput, whose tfjs-wasm version is a scalar loop: GEMM + col2im
 *    for the same cases, the original kernel otherwise.
 *  - MaxPoolGrad for 2×2 / stride 2 windows: tfjs-wasm 4.22's routes gradients
 *    wrongly when a window holds only negative values (after tanh, say; measured
 *    here against the cpu backend). Starling's routes each to the first maximum,
 *    as the cpu backend does.
 */
interface WasmBackendLike {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(id: unknown): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

type KernelArgs = { inputs: Record<string, tf.TensorInfo | null | undefined>; backend: unknown; attrs?: Record<string, unknown> };

let registered: 'missing' | 'all' | undefined;
const originals = new Map<string, tf.KernelConfig>();

/**
 * Registers the missing Conv2DBackpropFilter and, unless `missingOnly`, the faster
 * matrix multiplies, Conv2DBackpropInput and the corrected MaxPoolGrad. Per
 * process; calling again with the other setting switches (the benchmark compares both).
 */
export function registerWasmKernels(opts: { missingOnly?: boolean } = {}): void {
  const want = opts.missingOnly ? 'missing' : 'all';
  if (registered === want) return;
  const backend = tf.findBackend('wasm') as unknown as WasmBackendLike | null;
  if (!backend) throw new Error('registerWasmKernels: the wasm backend is not initialised');
  const k = instantiateSharedKernels(backend.wasm.asm.memory);
  if (!registered)
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: (args) => conv2dBackpropFilter(k, args as KernelArgs) });
  if (want === 'all') {
    replace('BatchMatMul', (args, original) => batchMatMul(k, args, false) ?? original(args));
    replace('_FusedMatMul', (args, original) => batchMatMul(k, args, true) ?? original(args));
    replace('Conv2DBackpropInput', (args, original) => conv2dBackpropInput(k, args) ?? original(args));
    replace('MaxPoolGrad', (args, original) => maxPoolGrad(k, args) ?? original(args));
  } else {
    for (const [name, config] of originals) {
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(config);
    }
    originals.clear();
  }
  registered = want;
}

function replace(name: string, impl: (args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo) => tf.TensorInfo): void {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`registerWasmKernels: tfjs-backend-wasm has no ${name} kernel to wrap`);
  originals.set(name, config);
  const original = config.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...config, kernelFunc: ((args: KernelArgs) => impl(args, original)) as unknown as tf.KernelFunc });
}

function ptr(backend: WasmBackendLike, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error('tensor data is not in wasm memory');
  return data.memoryOffset;
}

/** Runs `fn` with scratch buffers of these byte sizes in wasm memory (a size of 0 gets pointer 0), freeing them however `fn` ends. */
function withScratch<const B extends readonly number[], T>(backend: WasmBackendLike, bytes: B, fn: (ptrs: { -readonly [I in keyof B]: number }) => T): T {
  const ptrs = bytes.map((n) => (n > 0 ? backend.wasm._malloc(n) : 0));
  try {
    return fn(ptrs as { -readonly [I in keyof B]: number });
  } finally {
    for (const p of ptrs) if (p) backend.wasm._free(p);
  }
}

/** C[b] = op(A[b]) · op(B[b]) (+ bias, relu); undefined when the case is not ours. */
function batchMatMul(k: SharedKernelExports, args: KernelArgs, fused: boolean): tf.TensorInfo | undefined {
  const backend = args.backend as WasmBackendLike;
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  const bias = fused ? args.inputs.bias : undefined;
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  const activation = fused ? ((args.attrs?.activation as string | undefined) ?? 'linear') : 'linear';
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  if (activation !== 'linear' && activation !== 'relu') return undefined;
  if (fused && args.inputs.preluActivationWeights) return undefined;
  // tfjs-wasm's XNNPACK path is as fast on untransposed products: keep it there
  if (!transposeA && !transposeB) return undefined;
  // leading dimensions are batch dimensions: equal on both sides, or absent / size 1 on one
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const [a1, a2] = a.shape.slice(-2) as [number, number];
  const [b1, b2] = b.shape.slice(-2) as [number, number];
  const M = transposeA ? a2 : a1;
  const K = transposeA ? a1 : a2;
  const N = transposeB ? b1 : b2;
  if ((transposeB ? b2 : b1) !== K) return undefined;
  if (!(batchA === batchB && tf.util.arraysEqual(outerA, outerB)) && batchA !== 1 && batchB !== 1) return undefined;
  if (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== N)) return undefined;
  const batch = Math.max(batchA, batchB);
  const outer = batchA >= batchB ? outerA : outerB;
  const out = backend.makeOutput([...outer, M, N], 'float32');
  withScratch(backend, [transposeA ? M * K * 4 : 0, transposeB ? K * N * 4 : 0], ([scratchA, scratchB]) => {
    for (let i = 0; i < batch; i++) {
      let pa = ptr(backend, a) + (batchA === 1 ? 0 : i * M * K * 4);
      let pb = ptr(backend, b) + (batchB === 1 ? 0 : i * K * N * 4);
      if (transposeA) {
        k.transpose(K, M, pa, scratchA);
        pa = scratchA;
      }
      if (transposeB && (i === 0 || batchB !== 1)) k.transpose(N, K, pb, scratchB);
      if (transposeB) pb = scratchB;
      const pc = ptr(backend, out) + i * M * N * 4;
      k.gemm(M, N, K, pa, K, pb, N, pc, N, 1, 0);
      if (bias || activation === 'relu') k.biasRelu(M, N, pc, bias ? ptr(backend, bias) : 0, activation === 'relu' ? 1 : 0);
    }
  });
  return out;
}

interface ConvGeometry {
  B: number;
  H: number;
  W: number;
  C: number;
  k: number;
  pad: number;
  OH: number;
  OW: number;
  F: number;
}

/** The geometry of a stride-1 NHWC square-kernel convolution, or a reason it is not one. */
function convGeometry(
  xShape: readonly number[],
  dyShape: readonly number[],
  filterShape: readonly number[],
  attrs: Record<string, unknown>,
): ConvGeometry | string {
  const strides = attrs.strides as number | number[];
  const pad = attrs.pad as string | number;
  const dilations = (attrs.dilations ?? 1) as number | number[];
  const ones = (v: number | number[]) => (Array.isArray(v) ? v.every((s) => s === 1) : v === 1);
  const [B, H, W, C] = xShape as [number, number, number, number];
  const [kh, kw, inC, F] = filterShape as [number, number, number, number];
  const padding = pad === 'same' ? (kh - 1) / 2 : pad === 'valid' || pad === 0 ? 0 : -1;
  if (!ones(strides) || !ones(dilations) || (attrs.dataFormat ?? 'NHWC') !== 'NHWC' || kh !== kw || inC !== C || padding < 0 || !Number.isInteger(padding)) {
    return `strides ${String(strides)}, dilations ${String(dilations)}, pad ${String(pad)}, format ${String(attrs.dataFormat)}, filter ${filterShape.join('×')}`;
  }
  return { B, H, W, C, k: kh, pad: padding, OH: dyShape[1]!, OW: dyShape[2]!, F };
}

/** ∇filter of a stride-1 NHWC convolution: im2col(x)ᵀ · dy. */
function conv2dBackpropFilter(k: SharedKernelExports, args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x!;
  const dy = args.inputs.dy!;
  const attrs = args.attrs ?? {};
  const g = convGeometry(x.shape, dy.shape, attrs.filterShape as number[], attrs);
  if (typeof g === 'string' || x.dtype !== 'float32') {
    throw new Error(
      `Starling's Conv2DBackpropFilter for wasm supports stride-1 NHWC float32 convolutions with square kernels and 'same' (odd kernel) or 'valid' padding; got ${String(g)}`,
    );
  }
  const M = g.B * g.OH * g.OW;
  const K = g.k * g.k * g.C;
  const out = backend.makeOutput([g.k, g.k, g.C, g.F], 'float32');
  withScratch(backend, [M * K * 4, M * K * 4], ([cols, colsT]) => {
    k.im2col(g.B, g.H, g.W, g.C, g.k, g.pad, g.OH, g.OW, ptr(backend, x), cols);
    k.transpose(M, K, cols, colsT);
    k.gemm(K, g.F, M, colsT, M, ptr(backend, dy), g.F, ptr(backend, out), g.F, 1, 0);
  });
  return out;
}

/** ∇input of a stride-1 NHWC convolution: col2im(dy · filterᵀ); undefined when the case is not ours. */
function conv2dBackpropInput(k: SharedKernelExports, args: KernelArgs): tf.TensorInfo | undefined {
  const backend = args.backend as WasmBackendLike;
  const dy = args.inputs.dy!;
  const filter = args.inputs.filter!;
  const attrs = args.attrs ?? {};
  const g = convGeometry(attrs.inputShape as number[], dy.shape, filter.shape, attrs);
  if (typeof g === 'string' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const M = g.B * g.OH * g.OW;
  const K = g.k * g.k * g.C;
  const out = backend.makeOutput([g.B, g.H, g.W, g.C], 'float32');
  withScratch(backend, [K * g.F * 4, M * K * 4], ([filterT, cols]) => {
    k.transpose(K, g.F, ptr(backend, filter), filterT);
    k.gemm(M, K, g.F, ptr(backend, dy), g.F, filterT, K, cols, K, 1, 0);
    const dx = ptr(backend, out);
    new Float32Array(backend.wasm.asm.memory.buffer, dx, g.B * g.H * g.W * g.C).fill(0);
    k.col2im(g.B, g.H, g.W, g.C, g.k, g.pad, g.OH, g.OW, cols, dx);
  });
  return out;
}

/** ∇input of 2×2, stride-2 max-pooling (NHWC, even height and width); undefined when the case is not ours. */
function maxPoolGrad(k: SharedKernelExports, args: KernelArgs): tf.TensorInfo | undefined {
  const backend = args.backend as WasmBackendLike;
  const { dy, input, output } = args.inputs;
  const attrs = args.attrs ?? {};
  const two = (v: unknown) => (Array.isArray(v) ? v.every((s) => s === 2) : v === 2);
  if (!dy || !input || !output || input.dtype !== 'float32' || input.shape.length !== 4) return undefined;
  const [B, H, W, C] = input.shape as [number, number, number, number];
  if (!two(attrs.filterSize) || !two(attrs.strides) || H % 2 || W % 2 || (attrs.pad !== 'valid' && attrs.pad !== 'same' && attrs.pad !== 0)) return undefined;
  const dx = backend.makeOutput([B, H, W, C], 'float32');
  k.maxPool2Backward(B, H, W, C, ptr(backend, input), ptr(backend, output), ptr(backend, dy), ptr(backend, dx));
  return dx;
}
