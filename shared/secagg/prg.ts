import { SecAggError } from '../errors.ts';
import { chacha20Keystream } from '../crypto/keystream.ts';
import { hkdf, KEY_BYTES } from '../crypto/primitives.ts';
import type { MaskTerm } from './mask-kernel.ts';

/**
 * The PRG that expands a 32-byte seed into a mask of m words mod 2^32: the ChaCha20
 * keystream (crypto/keystream.ts: block counter 0, 96-bit zero nonce) under a key derived as
 * HKDF-SHA256(seed, salt, label), read as little-endian uint32 words. The nonce can stay fixed
 * because every key is used for one stream only: the salt binds the run and round, the label
 * the kind of mask (self-mask or the pair's pairwise mask), so no two masks in a deployment
 * share a key.
 */
export const SELF_MASK_LABEL = 'starling secagg self-mask';
export const PAIRWISE_MASK_LABEL = 'starling secagg pairwise mask';

/** The PRG's stream itself, re-exported where secure aggregation has always named it. */
export { chacha20Keystream };

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The mask key for one stream: HKDF-SHA256(seed, salt, label), 32 bytes. */
export function maskKey(seed: Uint8Array, salt: Uint8Array, label: string): Uint8Array {
  if (seed.length !== KEY_BYTES) throw new SecAggError('E_SECAGG_INVALID', `a mask seed is ${KEY_BYTES} bytes, not ${seed.length}`);
  return hkdf(seed, salt, label);
}

/** PRG(seed) as `length` uint32 words. Deterministic in (seed, salt, label, length); a shorter mask is a prefix of a longer one. */
export function expandMask(seed: Uint8Array, salt: Uint8Array, label: string, length: number): Uint32Array {
  if (!Number.isInteger(length) || length < 0) throw new SecAggError('E_SECAGG_INVALID', `mask length ${length} is not a non-negative integer`);
  const stream = chacha20Keystream(maskKey(seed, salt, label), 4 * length);
  if (LITTLE_ENDIAN && stream.byteOffset % 4 === 0) return new Uint32Array(stream.buffer, stream.byteOffset, length).slice();
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

/** The term applyMasks() adds (sign +1) or subtracts (sign −1) for PRG(seed) under (salt, label). */
export function maskTerm(seed: Uint8Array, salt: Uint8Array, label: string, sign: 1 | -1): MaskTerm {
  return { key: maskKey(seed, salt, label), sign };
}
