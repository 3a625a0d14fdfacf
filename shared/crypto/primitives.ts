import { createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';

/**
 * The primitives, with tweetnacl's habits: Uint8Array in and out, lengths as
 * constants, `false`/`null` on failed authentication, randomness only from the
 * platform CSPRNG. Keys are raw 32-byte values, the same bytes tweetnacl uses
 * (an Ed25519 identity is its 32-byte seed); the arithmetic runs in node:crypto,
 * measured 100–250× faster than tweetnacl's pure-JS Ed25519 on Node 20 (bench/crypto-bench.ts).
 */
export const KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const NONCE_BYTES = 32;

const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** `x` of a private JWK, which node:crypto requires and does not use (okpPrivate). */
const JWK_PLACEHOLDER_X = Buffer.alloc(KEY_BYTES).toString('base64url');

export interface Identity {
  /** Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Ed25519 seed (the secret). */
  readonly seed: Uint8Array;
}

export function randomSecret(bytes = KEY_BYTES): Uint8Array {
  return new Uint8Array(randomBytes(bytes));
}

/**
 * A fresh Ed25519 identity: a 32-byte seed from the CSPRNG and its public key, the bytes
 * tweetnacl's sign.keyPair.fromSeed gives, computed by node:crypto (~0.1 ms, where tweetnacl's
 * pure-JS scalar multiplication takes 4–7 ms: a simulation makes one per client).
 */
export function generateIdentity(): Identity {
  const seed = randomSecret();
  return { seed, publicKey: ed25519PublicKeyOf(seed) };
}

/** The Ed25519 public key of a seed (tweetnacl's sign.keyPair.fromSeed(seed).publicKey, byte for byte). */
export function ed25519PublicKeyOf(seed: Uint8Array): Uint8Array {
  if (seed.length !== KEY_BYTES) throw new InvalidArgumentError(`an Ed25519 seed is ${KEY_BYTES} bytes, not ${seed.length}`);
  return rawPublicKey(createPublicKey(ed25519Private(seed)));
}

/** A public KeyObject's raw 32 bytes, read as its JWK `x` (exporting SPKI DER costs ~60× as much). */
function rawPublicKey(key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url'));
}

/** A raw OKP public key (Ed25519 or X25519) as a KeyObject, imported as JWK (~10× faster than SPKI DER on OpenSSL 3). */
function okpPublic(crv: 'Ed25519' | 'X25519', raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/**
 * A raw OKP private key (an Ed25519 seed, an X25519 secret) as a KeyObject, imported as JWK.
 * A private JWK must carry `x` as well, which node:crypto checks is a string but does not use
 * (the key is built from `d` alone), and `x` is what the caller is about to compute: a
 * placeholder goes in. Should a Node version ever insist on a matching `x`, the PKCS#8 import
 * (slower, same key) takes over.
 */
function okpPrivate(crv: 'Ed25519' | 'X25519', secret: Uint8Array, pkcs8Prefix: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv, d: Buffer.from(secret).toString('base64url'), x: JWK_PLACEHOLDER_X }, format: 'jwk' });
  } catch {
    return createPrivateKey({ key: Buffer.concat([pkcs8Prefix, secret]), format: 'der', type: 'pkcs8' });
  }
}

/**
 * Private keys already imported, by seed array, each with a copy of the seed it was made from: a
 * coordinator signs every handshake with its one identity, and importing the key cost ~12× the
 * signature (DER through OpenSSL 3's decoders). A seed array changed in place (zeroised, say)
 * no longer matches its copy and is imported afresh. Weak: a seed nobody holds takes its key along.
 */
const ed25519Keys = new WeakMap<Uint8Array, { readonly seed: Buffer; readonly key: KeyObject }>();

/** The private KeyObject of a seed (okpPrivate: d = the seed; OpenSSL derives the public half from it), kept per seed array. */
function ed25519Private(seed: Uint8Array): KeyObject {
  const held = ed25519Keys.get(seed);
  if (held?.seed.equals(seed)) return held.key;
  const key = okpPrivate('Ed25519', seed, ED25519_PKCS8);
  ed25519Keys.set(seed, { seed: Buffer.from(seed), key });
  return key;
}

export function signDetached(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, ed25519Private(seed)));
}

/** True only for a valid signature; false for a bad one or a malformed key. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== KEY_BYTES) return false;
  try {
    return verify(null, message, okpPublic('Ed25519', publicKey), signature);
  } catch {
    return false;
  }
}

export interface EphemeralKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

export function generateEphemeral(): EphemeralKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawPublicKey(publicKey), privateKey };
}

/*
 * X25519 keys enter node:crypto as JWK, not DER (okpPublic, okpPrivate): on Node 20 (OpenSSL 3)
 * importing a DER (SPKI/PKCS#8) key goes through OpenSSL's generic decoder and costs ~0.2 ms for
 * a public key and ~0.6 ms for a private one, 8–10× the JWK import of the same 32 bytes, and
 * secure aggregation imports two peer keys per neighbour and two key pairs per client each
 * round. The bytes are the same either way (the JWK fields are the raw keys, base64url).
 */

/**
 * The X25519 key pair of 32 given secret bytes (X25519 clamps any 32 bytes into a valid
 * scalar), for keys that must be rebuilt from their secret: secure aggregation shares a
 * client's mask key and checks the one reconstructed against the public key it advertised.
 * The public key is tweetnacl's scalarMult.base(secret), byte for byte.
 */
export function x25519FromSecret(secret: Uint8Array): EphemeralKeyPair {
  if (secret.length !== KEY_BYTES) throw new InvalidArgumentError(`an X25519 secret is ${KEY_BYTES} bytes, not ${secret.length}`);
  const privateKey = okpPrivate('X25519', secret, X25519_PKCS8);
  return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) };
}

/**
 * X25519(ours, theirs), tweetnacl's scalarMult byte for byte; null for a key that is not 32
 * bytes, one node:crypto refuses, or an all-zero result (a low-order point, which tweetnacl
 * would return as zeros and which would make the "shared" secret public).
 */
export function agree(ours: KeyObject, theirs: Uint8Array): Uint8Array | null {
  if (theirs.length !== KEY_BYTES) return null;
  try {
    const shared = new Uint8Array(diffieHellman({ privateKey: ours, publicKey: okpPublic('X25519', theirs) }));
    return shared.every((b) => b === 0) ? null : shared;
  } catch {
    return null;
  }
}

const SHA256_BYTES = 32;

/**
 * HKDF-SHA256 (RFC 5869), hkdfSync's bytes, computed with two HMACs per 32-byte block: half
 * the cost of hkdfSync, which builds a KeyObject and a job for every call, and secure
 * aggregation derives several keys per neighbour per round.
 */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, bytes = KEY_BYTES): Uint8Array {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 255 * SHA256_BYTES)
    throw new InvalidArgumentError(`HKDF-SHA256 gives 1 to ${255 * SHA256_BYTES} bytes, not ${bytes}`);
  // an empty salt is an empty HMAC key, which HMAC pads to the RFC's default of zeros
  const prk = createHmac('sha256', salt).update(ikm).digest();
  const out = new Uint8Array(bytes);
  let block: Uint8Array = new Uint8Array(0);
  for (let i = 1, at = 0; at < bytes; i++, at += SHA256_BYTES) {
    block = createHmac('sha256', prk).update(block).update(info).update(Uint8Array.of(i)).digest();
    out.set(block.subarray(0, Math.min(SHA256_BYTES, bytes - at)), at);
  }
  return out;
}

/** Constant-time equality (tweetnacl's verify for equal lengths). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
