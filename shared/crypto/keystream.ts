import { createCipheriv, type Cipher } from 'node:crypto';
import { KEY_BYTES } from './primitives.ts';
import { InvalidArgumentError } from '../errors.ts';

/**
 * The ChaCha20 keystream (RFC 8439 block function), one implementation for every stream
 * Starling expands from a key: secure aggregation's masks (secagg/prg.ts) and differential
 * privacy's noise (privacy/noise.ts), whose tests pin the bytes. It is node:crypto's
 * 'chacha20' cipher encrypting zeros, under a 32-byte key and a 16-byte IV = 4-byte
 * little-endian block counter (0, or the block a stream resumes at) ‖ 12-byte nonce.
 * A (key, nonce) pair must feed one stream only; callers derive a fresh key per stream.
 */
export const CHACHA20_NONCE_BYTES = 12;
/** The 32-bit block counter runs out after 2³² blocks of 64 bytes (256 GiB); past that the stream would repeat. */
export const KEYSTREAM_MAX_BYTES = 2 ** 32 * 64;

const ZERO_NONCE = new Uint8Array(CHACHA20_NONCE_BYTES);
/** The plaintext every stream encrypts; shared and only ever grown, since a cipher never writes its input. */
let zeros = Buffer.alloc(0);

/** A stream read in order, chunk by chunk: the bytes do not depend on how the reads are split. */
export class Keystream {
  private readonly cipher: Cipher;
  private used = 0;

  /** `offset`: the stream starts that many bytes in (a stream resumed where a checkpoint left it); the bytes are those a read from 0 gives there. */
  constructor(key: Uint8Array, nonce: Uint8Array = ZERO_NONCE, offset = 0) {
    if (key.length !== KEY_BYTES) throw new InvalidArgumentError(`a ChaCha20 key is ${KEY_BYTES} bytes, not ${key.length}`);
    if (nonce.length !== CHACHA20_NONCE_BYTES) throw new InvalidArgumentError(`a ChaCha20 nonce is ${CHACHA20_NONCE_BYTES} bytes, not ${nonce.length}`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > KEYSTREAM_MAX_BYTES)
      throw new InvalidArgumentError(`a keystream offset must be a whole number of bytes in [0, 256 GiB], got ${offset}`);
    const iv = Buffer.alloc(4 + CHACHA20_NONCE_BYTES); // block counter ‖ nonce
    iv.writeUInt32LE(Math.min(Math.floor(offset / 64), 2 ** 32 - 1), 0);
    iv.set(nonce, 4);
    this.cipher = createCipheriv('chacha20', key, iv);
    this.used = offset - (offset % 64);
    if (offset % 64) this.next(offset % 64);
  }

  /** Bytes of the stream read so far (its position). */
  get position(): number {
    return this.used;
  }

  /** The next `bytes` bytes of the stream; refuses to run past the block counter rather than repeat. */
  next(bytes: number): Uint8Array {
    if (!Number.isInteger(bytes) || bytes < 0) throw new InvalidArgumentError(`a keystream read of ${bytes} bytes is not a non-negative integer`);
    if (this.used + bytes > KEYSTREAM_MAX_BYTES)
      throw new InvalidArgumentError(`ChaCha20 keystream exhausted (${this.used} of 256 GiB read, ${bytes} more asked): use a new key`);
    if (zeros.length < bytes) zeros = Buffer.alloc(bytes);
    const out = this.cipher.update(zeros.subarray(0, bytes));
    this.used += bytes;
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
}

/** The first `bytes` bytes of the keystream of `key` (32 bytes) and `nonce` (12 bytes, default zeros). */
export function chacha20Keystream(key: Uint8Array, bytes: number, nonce: Uint8Array = ZERO_NONCE): Uint8Array {
  return new Keystream(key, nonce).next(bytes);
}
