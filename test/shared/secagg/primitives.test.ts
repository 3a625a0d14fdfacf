import { hkdfSync, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { agree, hkdf, x25519FromSecret } from '../../../shared/crypto/primitives.ts';
import { seededRandom } from './harness.ts';

/**
 * The key agreement and key derivation secure aggregation runs on node:crypto, checked
 * against the references whose bytes the protocol was written for: tweetnacl's X25519 and
 * node:crypto's own hkdfSync.
 */
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// points of small order on Curve25519 (and their non-canonical encodings): agreeing with any gives zeros
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => new Uint8Array(Buffer.from(h, 'hex')));

describe('X25519 on node:crypto', () => {
  it('gives tweetnacl’s public keys and shared secrets byte for byte, for any 32 secret bytes (clamping included)', () => {
    const random = seededRandom('x25519 vs tweetnacl');
    const secrets = [new Uint8Array(32), new Uint8Array(32).fill(0xff), ...Array.from({ length: 40 }, () => random(32))];
    for (const [i, a] of secrets.entries()) {
      const b = secrets[(i + 1) % secrets.length]!;
      const ours = x25519FromSecret(a);
      const theirs = x25519FromSecret(b);
      expect(hex(ours.publicKey)).toBe(hex(nacl.scalarMult.base(a)));
      expect(hex(agree(ours.privateKey, theirs.publicKey)!)).toBe(hex(nacl.scalarMult(a, theirs.publicKey)));
      // and symmetric, which the pairwise masks rely on
      expect(hex(agree(theirs.privateKey, ours.publicKey)!)).toBe(hex(agree(ours.privateKey, theirs.publicKey)!));
    }
  });

  it('agrees with tweetnacl on arbitrary peer bytes too (the top bit ignored, non-canonical values reduced)', () => {
    const me = x25519FromSecret(new Uint8Array(randomBytes(32)));
    const secret = me.privateKey.export({ format: 'jwk' }).d!;
    const raw = new Uint8Array(Buffer.from(secret, 'base64url'));
    for (let i = 0; i < 30; i++) {
      const peer = new Uint8Array(randomBytes(32));
      const expected = nacl.scalarMult(raw, peer);
      const got = agree(me.privateKey, peer);
      if (expected.every((b) => b === 0)) expect(got).toBeNull();
      else expect(hex(got!)).toBe(hex(expected));
    }
  });

  it('refuses low-order points (an all-zero secret, which tweetnacl would return) and keys that are not 32 bytes', () => {
    const me = x25519FromSecret(seededRandom('low order')(32));
    for (const point of LOW_ORDER) expect(agree(me.privateKey, point)).toBeNull();
    expect(agree(me.privateKey, new Uint8Array(31))).toBeNull();
    expect(agree(me.privateKey, new Uint8Array(33).fill(9))).toBeNull();
    expect(() => x25519FromSecret(new Uint8Array(16))).toThrow(/32 bytes, not 16/);
  });
});

describe('HKDF-SHA256', () => {
  it('gives hkdfSync’s bytes for every length, salt and info, an empty salt included', () => {
    const random = seededRandom('hkdf');
    for (const bytes of [1, 16, 31, 32, 33, 64, 65, 100, 255 * 32]) {
      for (const salt of [new Uint8Array(0), random(13), random(64), random(200)]) {
        const ikm = random(32);
        const info = `starling test ${bytes} ✓`;
        expect(hex(hkdf(ikm, salt, info, bytes))).toBe(hex(new Uint8Array(hkdfSync('sha256', ikm, salt, info, bytes))));
      }
    }
  });

  it('refuses lengths HKDF-SHA256 cannot give', () => {
    expect(() => hkdf(new Uint8Array(32), new Uint8Array(0), 'x', 0)).toThrow(/1 to 8160 bytes, not 0/);
    expect(() => hkdf(new Uint8Array(32), new Uint8Array(0), 'x', 255 * 32 + 1)).toThrow(/not 8161/);
  });
});
