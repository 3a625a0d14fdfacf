/** Differential privacy for Starling: pure functions over Float32Array updates, and the RDP accountant. */
export * from './accountant.ts';
export * from './adaptive-clip.ts';
export * from './clip.ts';
export * from './dp-fedavg.ts';
export * from './dp-spec.ts';
export * from './noise.ts';
export * from './rdp-to-dp.ts';
export { logAFractional, logAInteger, sampledGaussianRdp, sampledGaussianRdpCurve } from './rdp.ts';
