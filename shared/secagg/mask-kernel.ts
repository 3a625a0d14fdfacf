import { Keystream } from '../crypto/keystream.ts';
import { SecAggError } from '../errors.ts';

/**
 * The one loop every mask goes through, on the calling thread or in a mask worker
 * (mask-workers.ts): target ← target ± PRG(key) mod 2^32 over a range of words, for a list
 * of mask keys (prg.ts: key = HKDF(seed, salt, label)). Addition mod 2^32 commutes, so the
 * order of the terms and how the range is cut between threads never change a byte.
 *
 * Why not expandMask() and an add loop: expanding allocated and copied a fresh 4·m-byte mask
 * per term (a client at n = 100 made 100 of 400 KB each round), and the garbage collector and
 * the copies cost as much as ChaCha20 itself. Here the keystream is read 64 KiB at a time, added
 * where it lands in the target, and dropped.
 */
export interface MaskTerm {
  /** The stream's ChaCha20 key, maskKey(seed, salt, label): 32 bytes. */
  readonly key: Uint8Array;
  /** +1 adds the mask, −1 subtracts it. */
  readonly sign: 1 | -1;
}

/** Words of keystream per read: big enough that each read's fixed cost vanishes, small enough to stay in cache while it is added. */
const CHUNK_WORDS = 16_384;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const ZERO_NONCE = new Uint8Array(12);

/** The keystream bytes as 32-bit words read little-endian: a view when the platform and alignment allow, else a decoded copy. */
function littleEndianWords(bytes: Uint8Array): Int32Array {
  const count = bytes.byteLength >>> 2;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
  return out;
}

/*
 * The adds work on Int32Array views with `| 0`, which V8 compiles to plain wrapping 32-bit adds
 * (the same bits as uint32 arithmetic mod 2^32), and are unrolled by four: V8 reloads a typed
 * array argument's length and data pointer on every iteration, and a loop of single adds
 * measured ~1.6 ns a word against ~1 ns unrolled, as slow as producing the keystream.
 */
function addInto(target: Int32Array, words: Int32Array): void {
  const n = words.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    target[i] = (target[i]! + words[i]!) | 0;
    target[i + 1] = (target[i + 1]! + words[i + 1]!) | 0;
    target[i + 2] = (target[i + 2]! + words[i + 2]!) | 0;
    target[i + 3] = (target[i + 3]! + words[i + 3]!) | 0;
  }
  for (; i < n; i++) target[i] = (target[i]! + words[i]!) | 0;
}

function subtractFrom(target: Int32Array, words: Int32Array): void {
  const n = words.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    target[i] = (target[i]! - words[i]!) | 0;
    target[i + 1] = (target[i + 1]! - words[i + 1]!) | 0;
    target[i + 2] = (target[i + 2]! - words[i + 2]!) | 0;
    target[i + 3] = (target[i + 3]! - words[i + 3]!) | 0;
  }
  for (; i < n; i++) target[i] = (target[i]! - words[i]!) | 0;
}

/**
 * target[i] ← target[i] + Σ sign · PRG(key)[i] mod 2^32 for start ≤ i < end (the whole vector by
 * default). Word i of a mask is keystream bytes 4i..4i+3 wherever the range starts, so any
 * split of [0, m) gives the bytes applying the masks to the whole vector gives.
 */
export function applyMasks(target: Uint32Array, terms: readonly MaskTerm[], start = 0, end = target.length): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > target.length)
    throw new SecAggError('E_SECAGG_INVALID', `mask range [${start}, ${end}) is not within the ${target.length} words of the vector`);
  if (start === end) return;
  const signed = new Int32Array(target.buffer, target.byteOffset, target.length);
  for (const { key, sign } of terms) {
    const stream = new Keystream(key, ZERO_NONCE, 4 * start);
    for (let at = start; at < end; at += CHUNK_WORDS) {
      const words = littleEndianWords(stream.next(4 * Math.min(CHUNK_WORDS, end - at)));
      const slice = signed.subarray(at, at + words.length);
      if (sign === 1) addInto(slice, words);
      else subtractFrom(slice, words);
    }
  }
}

/** target ← target + x mod 2^32, in place (the server's sum of masked inputs): the unrolled add above. */
export function addVector(target: Uint32Array, x: Uint32Array): void {
  if (x.length !== target.length) throw new SecAggError('E_SECAGG_INVALID', `cannot add a vector of ${x.length} words to one of ${target.length}`);
  addInto(new Int32Array(target.buffer, target.byteOffset, target.length), new Int32Array(x.buffer, x.byteOffset, x.length));
}
