import { randomBytes } from 'node:crypto';
import { Keystream } from '../crypto/keystream.ts';
import { hkdf } from '../crypto/primitives.ts';
import { InvalidArgumentError } from '../errors.ts';

/**
 * Gaussian noise from a CSPRNG.
 *
 * Bytes: the ChaCha20 keystream (crypto/keystream.ts: RFC 8439 block function,
 * 32-byte key, block counter from 0 ‖ 12-byte nonce), read 64 KiB at a time; it
 * refuses to run past 256 GiB, where the block counter would wrap.
 * Uniforms: each 8 bytes give a 53-bit integer k (the top 53 bits of a
 * little-endian u64), mapped to (k + ½)/2⁵³ ∈ (0, 1) — never 0, so log(u) is finite.
 * Normals: Box–Muller, two uniforms → two independent N(0, 1). Chosen over the
 * polar method and the Ziggurat because it consumes a fixed 16 bytes per pair
 * (no rejection loop: the stream position after n draws is a function of n
 * alone, so seeded streams are reproducible coordinate by coordinate, and the
 * time taken does not depend on the values drawn), and it is exact in real
 * arithmetic with no tables to get wrong. Its tails stop at √(−2 ln 2⁻⁵⁴) ≈ 8.65σ
 * (probability mass beyond: ~10⁻¹⁷). Like every floating-point sampler it is
 * not immune to the precision attacks of Mironov 2012; the noise is a float64
 * rounded to float32 when added to a Float32Array.
 *
 * Keys: `cryptoNoiseSource()` takes a fresh key from crypto.randomBytes — the
 * only form that gives privacy. `seededNoiseSource(seed, label)` derives the key
 * with HKDF-SHA256(seed, salt "starling/dp-noise/v1", info label): anyone who
 * knows the seed can regenerate and subtract the noise, so a seeded source
 * provides NO privacy and is for tests and simulations only.
 */
export interface NoiseSource {
  /** A uniform double in (0, 1), from the next 8 keystream bytes. */
  uniform(): number;
  /** A standard normal N(0, 1). */
  normal(): number;
  /**
   * Where a seeded source stands, for a checkpoint: resumed there, it draws what it would
   * have drawn. A secret source has nothing to save (undefined): its key is never written
   * anywhere, and a resumed run takes a fresh one, which is just as private.
   */
  position(): NoisePosition | undefined;
  /** Continues from `at` (a position this source's stream gave); a secret source ignores it. */
  resume(at: NoisePosition): void;
}

/** A seeded stream's place: keystream bytes consumed, and the second normal of a Box–Muller pair not yet handed out. */
export interface NoisePosition {
  readonly bytes: number;
  readonly spare?: number;
}

const CHUNK = 64 * 1024;
const TWO_POW_53 = 2 ** 53;
const TWO_POW_21 = 2 ** 21;

class ChaChaNoiseSource implements NoiseSource {
  private stream: Keystream;
  private buf: DataView = new DataView(new ArrayBuffer(0));
  private pos = 0;
  private spare: number | undefined;

  constructor(
    private readonly key: Uint8Array,
    private readonly nonce: Uint8Array,
    private readonly secret: boolean,
  ) {
    this.stream = new Keystream(key, nonce);
  }

  position(): NoisePosition | undefined {
    if (this.secret) return undefined;
    const bytes = this.stream.position - (this.buf.byteLength - this.pos);
    return this.spare === undefined ? { bytes } : { bytes, spare: this.spare };
  }

  resume(at: NoisePosition): void {
    if (this.secret) return;
    this.stream = new Keystream(this.key, this.nonce, at.bytes);
    this.buf = new DataView(new ArrayBuffer(0));
    this.pos = 0;
    this.spare = at.spare;
  }

  private refill(): void {
    const bytes = this.stream.next(CHUNK);
    this.buf = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  uniform(): number {
    if (this.pos + 8 > this.buf.byteLength) this.refill();
    const lo = this.buf.getUint32(this.pos, true);
    const hi = this.buf.getUint32(this.pos + 4, true);
    this.pos += 8;
    // top 53 bits of the u64 hi‖lo: hi (32 bits) · 2²¹ + the top 21 bits of lo
    const k = hi * TWO_POW_21 + (lo >>> 11);
    return (k + 0.5) / TWO_POW_53;
  }

  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u1 = this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const t = 2 * Math.PI * u2;
    this.spare = r * Math.sin(t);
    return r * Math.cos(t);
  }
}

/** A source keyed by `key` (32 bytes) and `nonce` (12 bytes, default zeros: use each key once). */
export function chachaNoiseSource(key: Uint8Array, nonce: Uint8Array = new Uint8Array(12)): NoiseSource {
  return new ChaChaNoiseSource(key, nonce, false);
}

/** The private source: a fresh random key from the platform CSPRNG. */
export function cryptoNoiseSource(): NoiseSource {
  return new ChaChaNoiseSource(new Uint8Array(randomBytes(32)), new Uint8Array(12), true);
}

const SEED_SALT = new TextEncoder().encode('starling/dp-noise/v1');

/**
 * A reproducible source for tests and simulations ONLY: the key is
 * HKDF-SHA256(seed, "starling/dp-noise/v1", label). Whoever knows the seed can
 * remove the noise, so this gives no privacy. Use distinct labels (e.g.
 * `round/3/central`) for distinct streams.
 */
export function seededNoiseSource(seed: Uint8Array | string | number, label: string): NoiseSource {
  const ikm = typeof seed === 'string' || typeof seed === 'number' ? new TextEncoder().encode(String(seed)) : seed;
  if (ikm.length === 0) throw new InvalidArgumentError('a noise seed must not be empty');
  return new ChaChaNoiseSource(hkdf(ikm, SEED_SALT, label, 32), new Uint8Array(12), false);
}

/**
 * vec + N(0, σ²·I) as a new Float32Array; `sigma` is the standard deviation
 * (not the variance). σ = 0 returns an exact copy and draws nothing.
 */
export function addGaussian(vec: Float32Array, sigma: number, source: NoiseSource): Float32Array {
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new InvalidArgumentError(`noise standard deviation must be finite and ≥ 0 (got ${sigma})`);
  const out = new Float32Array(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const v = vec[i]!;
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`vector holds a non-finite value at index ${i} (${v})`);
    out[i] = sigma === 0 ? v : v + sigma * source.normal();
  }
  return out;
}
