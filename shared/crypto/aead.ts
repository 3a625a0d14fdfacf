import { createCipheriv, createDecipheriv } from 'node:crypto';
import { KEY_BYTES } from './primitives.ts';
import { InvalidArgumentError } from '../errors.ts';

/**
 * ChaCha20-Poly1305 (RFC 8439, node:crypto's 'chacha20-poly1305'), the one AEAD behind every
 * sealed byte: session frames (session-sealer.ts) and secure aggregation's client-to-client
 * shares (secagg/share-cipher.ts). A sealed message is `ciphertext ‖ tag (16 bytes)`; the
 * associated data, when given, is authenticated but not carried. Like the rest of crypto/,
 * failed authentication is a `null`, not an exception: what a forgery means (a protocol error,
 * a complaint about a peer) is the caller's to say.
 */
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;

const CIPHER = 'chacha20-poly1305';

function checkKeyAndNonce(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new InvalidArgumentError(`a ChaCha20-Poly1305 key is ${KEY_BYTES} bytes, not ${key.length}`);
  if (nonce.length !== AEAD_NONCE_BYTES) throw new InvalidArgumentError(`a ChaCha20-Poly1305 nonce is ${AEAD_NONCE_BYTES} bytes, not ${nonce.length}`);
}

/**
 * Seals `plain` into `out` at `offset` (ciphertext ‖ tag, plain.length + 16 bytes), so a caller
 * that frames the result (session-sealer.ts's counter header) allocates the whole frame once:
 * concatenating the cipher's outputs instead costs ~10× the cipher on a multi-megabyte frame.
 */
export function sealInto(out: Uint8Array, offset: number, key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, aad?: Uint8Array): void {
  checkKeyAndNonce(key, nonce);
  if (!Number.isInteger(offset) || offset < 0 || out.length - offset < plain.length + AEAD_TAG_BYTES) {
    throw new InvalidArgumentError(
      `sealing ${plain.length} bytes needs ${plain.length + AEAD_TAG_BYTES} bytes of output at offset ${offset}, but the buffer holds ${out.length}`,
    );
  }
  const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: AEAD_TAG_BYTES });
  if (aad) cipher.setAAD(aad, { plaintextLength: plain.length });
  cipher.update(plain).copy(out, offset);
  cipher.final();
  cipher.getAuthTag().copy(out, offset + plain.length);
}

/** `plain` sealed under (key, nonce): a new `ciphertext ‖ tag`. Never reuse a nonce under one key. */
export function seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, aad?: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.length + AEAD_TAG_BYTES);
  sealInto(out, 0, key, nonce, plain, aad);
  return out;
}

/** The plaintext of `sealed` (ciphertext ‖ tag), or null when it is too short to hold a tag or fails authentication. */
export function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | null {
  checkKeyAndNonce(key, nonce);
  if (sealed.length < AEAD_TAG_BYTES) return null;
  const body = sealed.subarray(0, sealed.length - AEAD_TAG_BYTES);
  const decipher = createDecipheriv(CIPHER, key, nonce, { authTagLength: AEAD_TAG_BYTES });
  if (aad) decipher.setAAD(aad, { plaintextLength: body.length });
  decipher.setAuthTag(sealed.subarray(sealed.length - AEAD_TAG_BYTES));
  const plain = decipher.update(body);
  try {
    decipher.final();
  } catch {
    return null;
  }
  return plain;
}
