import { existsSync, readFileSync } from 'node:fs';
import { BackendError } from '../../errors.ts';

/**
 * Loads Starling's SIMD kernels (shared/engine/simd/assembly, compiled by
 * `npm run build:kernels`, which `npm install` and `npm ci` run) with the standard
 * WebAssembly API. One instance per thread; each owns its linear memory.
 */
export const KERNELS_PATH = new URL('./build/kernels.wasm', import.meta.url);

/** Pointers are byte offsets into the instance's memory; matrices are row-major f32. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  gemm(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, beta: number): void;
  /** gemm over only the k where A's row pair is non-zero (sparse inputs); bit-identical to gemm. `scratch` holds K i32s. */
  gemmSparseA(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, beta: number, scratch: number): void;
  transpose(R: number, C: number, src: number, dst: number): void;
  biasActivate(M: number, N: number, z: number, bias: number, act: number): void;
  activationGrad(n: number, g: number, a: number, act: number): void;
  softmaxCrossEntropy(M: number, N: number, z: number, labels: number, scale: number, stats: number): void;
  mseGrad(n: number, pred: number, target: number, scale: number, stats: number): void;
  columnSum(M: number, N: number, g: number, out: number, alpha: number, beta: number): void;
  dropoutForward(n: number, a: number, mask: number, p: number, seed: number): number;
  multiplyInto(n: number, x: number, y: number): void;
  axpy(n: number, alpha: number, x: number, y: number): void;
  scale(n: number, x: number, s: number): void;
  sgdUpdate(n: number, w: number, g: number, v: number, lr: number, mu: number, wd: number, nesterov: number): void;
  adamUpdate(n: number, w: number, g: number, m: number, v: number, lrT: number, b1: number, b2: number, epsT: number, wd: number): void;
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
