import { randomBytes } from 'node:crypto';
import { SecAggError } from '../errors.ts';

/**
 * t-of-n Shamir secret sharing of byte strings, over GF(p) with the Mersenne prime
 * p = 2^31 − 1.
 *
 * Why this field: x-coordinates are client indices, and GF(2^8) (bytewise, as in SSS) would
 * cap a round at 255 clients; a prime above 2^256 needs BigInt for every product. Instead
 * the secret is cut into 16-bit limbs (big-endian), each shared independently with its own
 * random polynomial of degree t − 1 over GF(2^31 − 1): any index up to 2^31 − 2 works, all
 * arithmetic stays in doubles (a product is split so no intermediate exceeds 2^53), and a
 * 32-byte secret becomes 16 field elements (a 64-byte share). Because each limb is < 2^16 but
 * the field is ~2^31, shares that do not belong together (a corrupt share, the wrong set, too
 * few) interpolate to a limb ≥ 2^16 with probability 1 − 2^-15 per limb, which reconstruct()
 * reports as an error: a cheap consistency check, not an authentication.
 *
 * Secrecy: every coefficient is uniform in GF(p) (rejection-sampled from the CSPRNG), so any
 * t − 1 shares are uniformly distributed whatever the secret is.
 */
export const FIELD_PRIME = 2_147_483_647; // 2^31 − 1
const LIMB_BYTES = 2;
const LIMB_LIMIT = 1 << 16;

/** One party's share: its x-coordinate (the client index) and one field element per 16-bit limb. */
export interface Share {
  readonly x: number;
  readonly y: Uint32Array;
}

/** Where random bytes come from: the CSPRNG by default; tests may pass a seeded stream. */
export type RandomSource = (bytes: number) => Uint8Array;

export const cryptoRandom: RandomSource = (bytes) => new Uint8Array(randomBytes(bytes));

/** (a · b) mod p for a, b in [0, p): b split in 16-bit halves so each product stays below 2^53. */
export function mulmod(a: number, b: number): number {
  return (((a * (b >>> 16)) % FIELD_PRIME) * 65536 + a * (b & 0xffff)) % FIELD_PRIME;
}

/** a^-1 mod p (extended Euclid); a must be in [1, p). */
export function invmod(a: number): number {
  let [r0, r1] = [FIELD_PRIME, a];
  let [t0, t1] = [0, 1];
  while (r1 !== 0) {
    const q = Math.floor(r0 / r1);
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  if (r0 !== 1) throw new SecAggError('E_SECAGG_INVALID', `${a} has no inverse mod ${FIELD_PRIME}`);
  return t0 < 0 ? t0 + FIELD_PRIME : t0;
}

function checkX(x: number): void {
  if (!Number.isInteger(x) || x < 1 || x >= FIELD_PRIME)
    throw new SecAggError('E_SECAGG_INVALID', `share x-coordinate ${x} is not an integer in 1..${FIELD_PRIME - 1}`);
}

function checkThreshold(threshold: number): void {
  if (!Number.isInteger(threshold) || threshold < 1) throw new SecAggError('E_SECAGG_INVALID', `threshold ${threshold} is not a positive integer`);
}

/** Field elements uniform in [0, p): 31 random bits each, the single value p itself rejected. */
function randomElements(count: number, random: RandomSource): Uint32Array {
  const out = new Uint32Array(count);
  let filled = 0;
  while (filled < count) {
    const bytes = random(4 * (count - filled));
    for (let i = 0; i + 3 < bytes.length && filled < count; i += 4) {
      const v = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) & 0x7fffffff;
      if (v !== FIELD_PRIME) out[filled++] = v;
    }
  }
  return out;
}

/**
 * Shares of `secret` (an even number of bytes) for the parties at `xs`; any `threshold` of
 * them reconstruct it, fewer reveal nothing about it.
 */
export function split(secret: Uint8Array, threshold: number, xs: readonly number[], random: RandomSource = cryptoRandom): Share[] {
  checkThreshold(threshold);
  if (secret.length === 0 || secret.length % LIMB_BYTES !== 0)
    throw new SecAggError('E_SECAGG_INVALID', `a secret of ${secret.length} bytes cannot be shared: it must be a non-empty, even number of bytes`);
  if (xs.length < threshold)
    throw new SecAggError('E_SECAGG_INVALID', `cannot split into ${xs.length} shares with threshold ${threshold}: the secret could never be reconstructed`);
  const seen = new Set<number>();
  for (const x of xs) {
    checkX(x);
    if (seen.has(x)) throw new SecAggError('E_SECAGG_INVALID', `duplicate share x-coordinate ${x}`);
    seen.add(x);
  }
  const limbs = secret.length / LIMB_BYTES;
  const degree = threshold - 1;
  // coefficients[l * degree + k] is the coefficient of x^(k+1) for limb l
  const coefficients = randomElements(limbs * degree, random);
  const shares = xs.map((x) => ({ x, y: new Uint32Array(limbs) }));
  for (let l = 0; l < limbs; l++) {
    const constant = (secret[2 * l]! << 8) | secret[2 * l + 1]!;
    for (const share of shares) {
      // Horner, highest coefficient first
      let acc = 0;
      for (let k = degree - 1; k >= 0; k--) acc = (mulmod(acc, share.x) + coefficients[l * degree + k]!) % FIELD_PRIME;
      share.y[l] = (mulmod(acc, share.x) + constant) % FIELD_PRIME;
    }
  }
  return shares;
}

/** Lagrange basis coefficients at x = 0 for distinct x-coordinates: λ_i = Π_{j≠i} x_j / (x_j − x_i). */
export function lagrangeAtZero(xs: readonly number[]): number[] {
  return xs.map((xi, i) => {
    let num = 1;
    let den = 1;
    xs.forEach((xj, j) => {
      if (j === i) return;
      num = mulmod(num, xj);
      den = mulmod(den, (xj - xi + FIELD_PRIME) % FIELD_PRIME);
    });
    return mulmod(num, invmod(den));
  });
}

/**
 * The secret from `threshold` shares (the first `threshold` given are used). Fewer shares,
 * duplicate or malformed x-coordinates, mismatched lengths and values outside the field are
 * errors, as is an interpolated limb ≥ 2^16 (shares that do not belong together).
 */
export function reconstruct(shares: readonly Share[], threshold: number): Uint8Array {
  checkThreshold(threshold);
  if (shares.length < threshold) throw new SecAggError('E_SECAGG_INVALID', `cannot reconstruct from ${shares.length} shares: ${threshold} are needed`);
  const used = shares.slice(0, threshold);
  const limbs = used[0]!.y.length;
  const seen = new Set<number>();
  for (const share of used) {
    checkX(share.x);
    if (seen.has(share.x)) throw new SecAggError('E_SECAGG_INVALID', `duplicate share x-coordinate ${share.x}`);
    seen.add(share.x);
    if (share.y.length !== limbs || limbs === 0) throw new SecAggError('E_SECAGG_INVALID', `share ${share.x} has ${share.y.length} limbs, expected ${limbs}`);
    for (const v of share.y) if (v >= FIELD_PRIME) throw new SecAggError('E_SECAGG_INVALID', `share ${share.x} holds ${v}, outside GF(${FIELD_PRIME})`);
  }
  const lambdas = lagrangeAtZero(used.map((s) => s.x));
  const secret = new Uint8Array(limbs * LIMB_BYTES);
  for (let l = 0; l < limbs; l++) {
    let acc = 0;
    for (let i = 0; i < used.length; i++) acc = (acc + mulmod(lambdas[i]!, used[i]!.y[l]!)) % FIELD_PRIME;
    if (acc >= LIMB_LIMIT)
      throw new SecAggError(
        'E_SECAGG_INVALID',
        `shares ${used.map((s) => s.x).join(', ')} are inconsistent: they interpolate to ${acc}, not a 16-bit limb (a corrupt share, or shares of different secrets)`,
      );
    secret[2 * l] = acc >>> 8;
    secret[2 * l + 1] = acc & 0xff;
  }
  return secret;
}

/** A share's y-values as bytes (4 per limb, big-endian), and back with range checks. */
export function shareBytes(y: Uint32Array): Uint8Array {
  const out = new Uint8Array(4 * y.length);
  const view = new DataView(out.buffer);
  for (const [i, v] of y.entries()) view.setUint32(4 * i, v);
  return out;
}

export function shareFromBytes(bytes: Uint8Array): Uint32Array | null {
  if (bytes.length === 0 || bytes.length % 4 !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < y.length; i++) {
    const v = view.getUint32(4 * i);
    if (v >= FIELD_PRIME) return null;
    y[i] = v;
  }
  return y;
}
