import { describe, expect, it } from 'vitest';
import { chacha20Keystream, expandMask, PAIRWISE_MASK_LABEL, SELF_MASK_LABEL } from '../../../shared/secagg/prg.ts';
import { roundSalt } from '../../../shared/secagg/masking.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const seed = new Uint8Array(32).map((_, i) => i);
const salt = roundSalt({ runId: 'run-a', round: 3 });

describe('mask PRG', () => {
  it('is ChaCha20: the zero-key, zero-nonce keystream is RFC 8439 A.1 test vector #1', () => {
    // RFC 8439 A.1 test vector #1: all-zero key, zero nonce, counter 0 — the first 32 keystream bytes
    expect(hex(chacha20Keystream(new Uint8Array(32), 32))).toBe('76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7');
  });

  it('is deterministic, with a stable test vector, and a shorter mask is a prefix of a longer one', () => {
    const a = expandMask(seed, salt, SELF_MASK_LABEL, 8);
    expect([...a]).toEqual([...expandMask(seed, salt, SELF_MASK_LABEL, 8)]);
    expect([...expandMask(seed, salt, SELF_MASK_LABEL, 1000).subarray(0, 8)]).toEqual([...a]);
    expect(hex(new Uint8Array(a.buffer, a.byteOffset, 32))).toBe(STABLE_VECTOR);
  });

  it('separates domains: another label, round, run or seed gives an unrelated mask', () => {
    const base = [...expandMask(seed, salt, SELF_MASK_LABEL, 16)];
    const others = [
      expandMask(seed, salt, `${PAIRWISE_MASK_LABEL} 1-2`, 16),
      expandMask(seed, roundSalt({ runId: 'run-a', round: 4 }), SELF_MASK_LABEL, 16),
      expandMask(seed, roundSalt({ runId: 'run-b', round: 3 }), SELF_MASK_LABEL, 16),
      expandMask(
        seed.map((v, i) => (i === 0 ? v ^ 1 : v)),
        salt,
        SELF_MASK_LABEL,
        16,
      ),
    ];
    for (const o of others) {
      const same = [...o].filter((v, i) => v === base[i]).length;
      expect(same).toBe(0);
    }
  });

  it('refuses seeds that are not 32 bytes', () => {
    expect(() => expandMask(new Uint8Array(16), salt, SELF_MASK_LABEL, 4)).toThrow(/32 bytes, not 16/);
  });
});

// computed independently (Python: hmac/hashlib HKDF-SHA256 with salt '["starling-secagg-v1","run-a",3]', then
// cryptography's ChaCha20 with a zero 16-byte nonce), so a change to the key derivation, the IV or the word order fails here
const STABLE_VECTOR = 'fdc23d6e4eac06e59239c591d34aad5af5c89d8a04f81a837b10d99e289d5707';
