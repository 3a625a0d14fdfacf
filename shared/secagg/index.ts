/** Secure aggregation: Shamir sharing, the mask PRG, fixed-point encoding, masking, the round's state machines, and the worker pool that expands masks off the main thread. */
export { checkConfig, type SecAggConfig } from './common.ts';
export * from './client.ts';
export * from './fixed-point.ts';
export * from './masking.ts';
export * from './messages.ts';
export * from './prg.ts';
export * from './server.ts';
export * from './shamir.ts';
export { SHARE_CIPHERTEXT_BYTES, SHARE_LIMBS, SHARE_PLAINTEXT_BYTES, SHARE_TAG_BYTES } from './share-cipher.ts';
export * from './weighting.ts';
export { applyMasks, type MaskTerm } from './mask-kernel.ts';
export { maskWorkers, MaskWorkers, type MaskWorkersOptions } from './mask-workers.ts';
