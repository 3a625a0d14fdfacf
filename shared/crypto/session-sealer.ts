import { InvalidArgumentError, protocolError } from '../errors.ts';
import * as aead from './aead.ts';
import type { FrameSealer } from './frame-sealer.ts';
import { KEY_BYTES } from './primitives.ts';

/**
 * Sealed frames after the handshake: `counter (8 bytes, big-endian) ‖ ciphertext ‖ tag (16)`,
 * ChaCha20-Poly1305 (aead.ts) under the direction's session key, the 12-byte nonce being 4
 * zero bytes and the counter, the counter header also authenticated as associated data. Each
 * direction's counter starts at 0 and must arrive exactly in order (WebSocket is in-order),
 * so a replayed, dropped or reordered frame is detected before decryption.
 */
export const COUNTER_BYTES = 8;
export const TAG_BYTES = aead.AEAD_TAG_BYTES;
export const SEAL_OVERHEAD = COUNTER_BYTES + TAG_BYTES;

export class SessionSealer implements FrameSealer {
  private readonly sendKey: Uint8Array;
  private readonly receiveKey: Uint8Array;
  private sendCounter = 0n;
  private receiveCounter = 0n;

  constructor(sendKey: Uint8Array, receiveKey: Uint8Array) {
    if (sendKey.length !== KEY_BYTES || receiveKey.length !== KEY_BYTES) throw new InvalidArgumentError(`session keys must be ${KEY_BYTES} bytes`);
    this.sendKey = sendKey;
    this.receiveKey = receiveKey;
  }

  seal(plain: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(SEAL_OVERHEAD + plain.length);
    out.writeBigUInt64BE(this.sendCounter, 0);
    this.sendCounter++;
    const header = out.subarray(0, COUNTER_BYTES);
    // sealed straight into the one preallocated frame, behind its header
    aead.sealInto(out, COUNTER_BYTES, this.sendKey, nonceFor(header), plain, header);
    return out;
  }

  /** The plaintext, or null when authentication fails; a counter out of order is a protocol error. */
  open(sealed: Uint8Array): Uint8Array | null {
    if (sealed.length < SEAL_OVERHEAD)
      throw protocolError.malformed(`sealed frame of ${sealed.length} bytes is shorter than its ${SEAL_OVERHEAD}-byte envelope`);
    const frame = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const counter = frame.readBigUInt64BE(0);
    if (counter !== this.receiveCounter) {
      throw protocolError.replay(
        counter < this.receiveCounter
          ? `counter ${counter} was already used (expected ${this.receiveCounter}): a replayed or old frame`
          : `counter ${counter} skips ahead of ${this.receiveCounter}: a frame was dropped or reordered`,
      );
    }
    const header = frame.subarray(0, COUNTER_BYTES);
    const plain = aead.open(this.receiveKey, nonceFor(header), frame.subarray(COUNTER_BYTES), header);
    if (plain === null) return null;
    this.receiveCounter++;
    return plain;
  }
}

function nonceFor(counterHeader: Uint8Array): Buffer {
  const nonce = Buffer.alloc(aead.AEAD_NONCE_BYTES);
  nonce.set(counterHeader, aead.AEAD_NONCE_BYTES - COUNTER_BYTES);
  return nonce;
}
