import { existsSync, readFileSync } from 'node:fs';
import { BackendError } from '../../errors.ts';

/**
 * Loads Starling's SIMD kernels (shared/engine/simd/assembly, compiled by
 * `npm run build:kernels`, which `npm install` and `npm ci` run) with the standard
 * WebAssembly API. One instance per thread; each owns its linear memory.
 */
export const KERNELS_PATH = new URL('./build/kernels.wasm', import.meta.url);
/** The data-free subset compiled with --importMemory, run inside tfjs-backend-wasm's heap. */
export const SHARED_KERNELS_PATH = new URL('./build/kernels-shared.wasm', import.meta.url);

/** Pointers are byte offsets into the instance's memory; matrices are row-major f32. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  gemm(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, beta: number): void;
  /** gemm over only the k where A's row pair is non-zero (sparse inputs); bit-identical to gemm. `scratch` holds K i32s. */
  gemmSparseA(
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
    scratch: number,
  ): void;
  /** C = α·A·Bᵀ + β·C with B stored [N×K] (dot-product form: no transpose of B needed). */
  gemmNT(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, beta: number): void;
  transpose(R: number, C: number, src: number, dst: number): void;
  biasActivate(M: number, N: number, z: number, bias: number, act: number): void;
  activationGrad(n: number, g: number, a: number, act: number): void;
  softmaxCrossEntropy(M: number, N: number, z: number, labels: number, scale: number, stats: number): void;
  mseGrad(n: number, pred: number, target: number, scale: number, stats: number): void;
  columnSum(M: number, N: number, g: number, out: number, alpha: number, beta: number): void;
  dropoutForward(n: number, a: number, mask: number, p: number, seed: number): number;
  multiplyInto(n: number, x: number, y: number): void;
  axpy(n: number, alpha: number, x: number, y: number): void;
  im2col(B: number, H: number, W: number, C: number, k: number, pad: number, OH: number, OW: number, src: number, cols: number): void;
  col2im(B: number, H: number, W: number, C: number, k: number, pad: number, OH: number, OW: number, cols: number, dx: number): void;
  maxPool2Forward(B: number, H: number, W: number, C: number, src: number, dst: number): void;
  /** Finds each window's maximum again from the pooling's input x and output y. */
  maxPool2Backward(B: number, H: number, W: number, C: number, x: number, y: number, dy: number, dx: number): void;
  scale(n: number, x: number, s: number): void;
  sgdUpdate(n: number, w: number, g: number, v: number, lr: number, mu: number, wd: number, nesterov: number): void;
  adamUpdate(
    n: number,
    w: number,
    g: number,
    m: number,
    v: number,
    lrT: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    epsT: number,
    wd: number,
  ): void;
  adagradUpdate(n: number, w: number, g: number, acc: number, lr: number, eps: number, wd: number): void;
  rmspropUpdate(n: number, w: number, g: number, acc: number, lr: number, rho: number, c: number, eps: number, wd: number): void;
}

export const Activation = { identity: 0, relu: 1, tanh: 2, sigmoid: 3 } as const;

let compiled: WebAssembly.Module | undefined;

/** Why the kernels cannot load here, or undefined when they can. */
export function kernelsUnavailable(): string | undefined {
  if (!existsSync(KERNELS_PATH)) return `the SIMD kernels are not built (${KERNELS_PATH.pathname} is missing; run \`npm run build:kernels\`)`;
  try {
    module();
  } catch (err) {
    return `the SIMD kernels do not load: ${(err as Error).message}`;
  }
  return undefined;
}

function module(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(KERNELS_PATH));
  return compiled;
}

/** A fresh kernel instance with its own memory. */
export function instantiateKernels(): KernelExports {
  const why = kernelsUnavailable();
  if (why) throw new BackendError(why);
  return new WebAssembly.Instance(module(), {}).exports as unknown as KernelExports;
}

/** The kernels that run on another module's memory (pointers are offsets into it). */
export interface SharedKernelExports {
  gemm: KernelExports['gemm'];
  transpose: KernelExports['transpose'];
  im2col: KernelExports['im2col'];
  col2im: KernelExports['col2im'];
  maxPool2Backward: KernelExports['maxPool2Backward'];
  biasRelu(M: number, N: number, z: number, bias: number, relu: number): void;
}

/**
 * Instantiates the shared-memory kernels on `memory` (tfjs-backend-wasm's).
 * Refuses a binary with a data section: instantiating it would overwrite the host's memory.
 */
export function instantiateSharedKernels(memory: WebAssembly.Memory): SharedKernelExports {
  if (!existsSync(SHARED_KERNELS_PATH))
    throw new BackendError(`the SIMD kernels are not built (${SHARED_KERNELS_PATH.pathname} is missing; run \`npm run build:kernels\`)`);
  return instantiateOnMemory(readFileSync(SHARED_KERNELS_PATH), memory, SHARED_KERNELS_PATH.pathname) as unknown as SharedKernelExports;
}

/** Instantiates a module that imports `env.memory`, refusing one with a data section (it would write into that memory). */
export function instantiateOnMemory(bytes: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory, name: string): WebAssembly.Exports {
  if (sectionIds(bytes).includes(DATA_SECTION)) throw new BackendError(`${name} has a data section; it must not write into another module's memory`);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
}

const DATA_SECTION = 11;

/** The ids of a wasm binary's sections, in order. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8;
  const leb = () => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bytes[p++]!;
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return result >>> 0;
  };
  while (p < bytes.length) {
    ids.push(bytes[p++]!);
    const size = leb(); // read before adding: `p += leb()` would add to the stale p
    p += size;
  }
  return ids;
}
