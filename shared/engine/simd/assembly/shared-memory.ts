// The kernels that run inside another module's memory (tfjs-backend-wasm's heap),
// compiled with --importMemory. The module must own no static data (it would land
// in the host's memory), so only data-free kernels are exported here; the loader
// checks the binary has no data section.
export { gemm, transpose } from './gemm';
export { im2col, col2im, maxPool2Backward } from './conv';
export { biasRelu } from './layers';
