// Starling's SIMD training kernels, compiled to WebAssembly by `npm run build:kernels`
// (which runs on install). Loaded by shared/engine/simd/kernels.ts.
export { gemm, gemmNT, gemmSparseA, transpose } from './gemm';
export { biasActivate, activationGrad, softmaxCrossEntropy, mseGrad, columnSum, dropoutForward, multiplyInto } from './layers';
export { axpy, scale, sgdUpdate, adamUpdate, adagradUpdate, rmspropUpdate } from './optim';

/** First free byte after the module's static data: the engine's arena starts at or above it. */
export function heapBase(): usize {
  return __heap_base;
}
export { im2col, col2im, maxPool2Forward, maxPool2Backward } from './conv';
