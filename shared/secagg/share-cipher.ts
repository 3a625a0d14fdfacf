import * as aead from '../crypto/aead.ts';
import { hkdf, KEY_BYTES } from '../crypto/primitives.ts';
import type { RoundContext } from './masking.ts';
import { shareBytes } from './shamir.ts';

/**
 * The client-to-client encryption of phase 1: client `from` seals, for neighbour `to`, its
 * shares of b_from and s_from^SK (two 16-limb shares of 32-byte secrets) with ChaCha20-Poly1305
 * (crypto/aead.ts) under a key derived from their c-key agreement. The server relays the
 * ciphertext but cannot open it; the associated data binds run, round and both indices, so a
 * ciphertext replayed into another round or pair fails to open.
 */
export const SHARE_LIMBS = KEY_BYTES / 2;
export const SHARE_PLAINTEXT_BYTES = 2 * 4 * SHARE_LIMBS;
export const SHARE_TAG_BYTES = aead.AEAD_TAG_BYTES;
export const SHARE_CIPHERTEXT_BYTES = SHARE_PLAINTEXT_BYTES + SHARE_TAG_BYTES;

/** A zero nonce is safe: every share key seals exactly one message. */
const ZERO_NONCE = new Uint8Array(aead.AEAD_NONCE_BYTES);

function shareAad(context: RoundContext, from: number, to: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(['starling-secagg-share', context.runId, context.round, from, to]));
}

/** The one-use key for shares from → to, from the c-key agreement (direction in the label, so u→v and v→u never share a key and nonce). */
function shareKey(agreement: Uint8Array, salt: Uint8Array, from: number, to: number): Uint8Array {
  return hkdf(agreement, salt, `starling secagg share key ${from}->${to}`);
}

/** The ciphertext carrying `from`'s shares of its self-mask seed and its mask key to `to`. */
export function sealShares(
  context: RoundContext,
  salt: Uint8Array,
  agreement: Uint8Array,
  from: number,
  to: number,
  self: Uint32Array,
  key: Uint32Array,
): Uint8Array {
  const plain = new Uint8Array(SHARE_PLAINTEXT_BYTES);
  plain.set(shareBytes(self), 0);
  plain.set(shareBytes(key), SHARE_PLAINTEXT_BYTES / 2);
  return aead.seal(shareKey(agreement, salt, from, to), ZERO_NONCE, plain, shareAad(context, from, to));
}

/** The plaintext of a ciphertext from `from` to `to` (self-mask share ‖ mask-key share), or null when it does not open to one. */
export function openShares(context: RoundContext, salt: Uint8Array, agreement: Uint8Array, from: number, to: number, ciphertext: unknown): Uint8Array | null {
  if (!(ciphertext instanceof Uint8Array)) return null;
  const plain = aead.open(shareKey(agreement, salt, from, to), ZERO_NONCE, ciphertext, shareAad(context, from, to));
  return plain && plain.length === SHARE_PLAINTEXT_BYTES ? plain : null;
}
