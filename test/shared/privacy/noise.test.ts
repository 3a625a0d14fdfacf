import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addGaussian, chachaNoiseSource, cryptoNoiseSource, seededNoiseSource } from '../../../shared/privacy/noise.ts';

function moments(xs: Float64Array): { mean: number; variance: number; kurtosis: number } {
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / xs.length;
  let m2 = 0;
  let m4 = 0;
  for (const x of xs) {
    const d = (x - mean) ** 2;
    m2 += d;
    m4 += d * d;
  }
  m2 /= xs.length;
  m4 /= xs.length;
  return { mean, variance: m2, kurtosis: m4 / (m2 * m2) };
}

describe('CSPRNG Gaussian noise', () => {
  it('1e6 draws have mean 0, variance 1, kurtosis 3 (bounds ≈ 5 standard errors)', () => {
    const src = seededNoiseSource('moments', 'test');
    const xs = new Float64Array(1_000_000);
    for (let i = 0; i < xs.length; i++) xs[i] = src.normal();
    const m = moments(xs);
    // standard errors at n = 1e6: mean 0.001, variance √2·0.001, kurtosis √24·0.001
    expect(Math.abs(m.mean)).toBeLessThan(0.005);
    expect(Math.abs(m.variance - 1)).toBeLessThan(0.007);
    expect(Math.abs(m.kurtosis - 3)).toBeLessThan(0.025);
    // tails: P(|x| > 3) = 0.0026998
    const beyond3 = xs.filter((x) => Math.abs(x) > 3).length / xs.length;
    expect(Math.abs(beyond3 - 0.0026998)).toBeLessThan(0.0003);
  });

  it('σ is the standard deviation, not the variance', () => {
    for (const sigma of [0.01, 3]) {
      const out = addGaussian(new Float32Array(200_000), sigma, seededNoiseSource(7, `sigma/${sigma}`));
      const m = moments(Float64Array.from(out));
      expect(Math.sqrt(m.variance) / sigma).toBeGreaterThan(0.99);
      expect(Math.sqrt(m.variance) / sigma).toBeLessThan(1.01);
    }
  });

  it('uniforms are the keystream read as 53-bit integers k ↦ (k + ½)/2⁵³, in (0, 1)', () => {
    const key = new Uint8Array(32).map((_, i) => i);
    const nonce = new Uint8Array(12).fill(9);
    const stream = createCipheriv('chacha20', key, Buffer.concat([Buffer.alloc(4), nonce])).update(Buffer.alloc(80));
    const src = chachaNoiseSource(key, nonce);
    for (let i = 0; i < 10; i++) {
      const u64 = stream.readBigUInt64LE(8 * i);
      const k = Number(u64 >> 11n);
      expect(src.uniform()).toBe((k + 0.5) / 2 ** 53);
    }
    const s = seededNoiseSource('u', 'range');
    for (let i = 0; i < 100_000; i++) {
      const u = s.uniform();
      expect(u > 0 && u < 1).toBe(true);
    }
  });

  it('crosses the 64 KiB refill boundary without losing or repeating bytes', () => {
    const key = new Uint8Array(32).fill(3);
    const stream = createCipheriv('chacha20', key, Buffer.alloc(16)).update(Buffer.alloc(3 * 65536));
    const src = chachaNoiseSource(key);
    for (let i = 0; i < (3 * 65536) / 8; i++) {
      const k = Number(stream.readBigUInt64LE(8 * i) >> 11n);
      if (src.uniform() !== (k + 0.5) / 2 ** 53) throw new Error(`mismatch at uniform ${i}`);
    }
  });

  it('same seed and label give the same noise; a different seed, label or a random key differs', () => {
    const draw = (src: ReturnType<typeof cryptoNoiseSource>) => Array.from({ length: 64 }, () => src.normal());
    const a = draw(seededNoiseSource('seed', 'round/1'));
    expect(draw(seededNoiseSource('seed', 'round/1'))).toEqual(a);
    expect(draw(seededNoiseSource(new TextEncoder().encode('seed'), 'round/1'))).toEqual(a);
    expect(draw(seededNoiseSource('seed', 'round/2'))).not.toEqual(a);
    expect(draw(seededNoiseSource('seed2', 'round/1'))).not.toEqual(a);
    expect(draw(cryptoNoiseSource())).not.toEqual(draw(cryptoNoiseSource()));
    const key = new Uint8Array(32).fill(1);
    expect(draw(chachaNoiseSource(key))).toEqual(draw(chachaNoiseSource(key)));
    expect(draw(chachaNoiseSource(key))).not.toEqual(draw(chachaNoiseSource(key, new Uint8Array(12).fill(1))));
  });

  it('addGaussian returns a new array, leaves the input alone, σ = 0 copies exactly; bad input is refused', () => {
    const v = Float32Array.from([1, 2, 3]);
    const out = addGaussian(v, 0.5, seededNoiseSource(1, 'x'));
    expect(out).not.toBe(v);
    expect(Array.from(v)).toEqual([1, 2, 3]);
    expect(Array.from(out)).not.toEqual([1, 2, 3]);
    expect(Array.from(addGaussian(v, 0, seededNoiseSource(1, 'x')))).toEqual([1, 2, 3]);
    expect(() => addGaussian(v, -1, seededNoiseSource(1, 'x'))).toThrow(/standard deviation/);
    expect(() => addGaussian(v, NaN, seededNoiseSource(1, 'x'))).toThrow(/standard deviation/);
    expect(() => addGaussian(Float32Array.from([1, NaN]), 1, seededNoiseSource(1, 'x'))).toThrow(/index 1/);
    expect(() => chachaNoiseSource(new Uint8Array(16))).toThrow(/32 bytes/);
    expect(() => seededNoiseSource('', 'x')).toThrow(/empty/);
  });
  it('a seeded stream resumed at its position draws what it would have drawn (mid-pair and past a 64 KiB refill); a secret one has no position', () => {
    const whole = seededNoiseSource(9, 'resume');
    const cut = seededNoiseSource(9, 'resume');
    // 8193 uniforms run past the first 64 KiB chunk; then an odd number of normals leaves a Box–Muller spare
    for (let i = 0; i < 8193; i++) expect(cut.uniform()).toBe(whole.uniform());
    for (let i = 0; i < 3; i++) expect(cut.normal()).toBe(whole.normal());
    const at = cut.position()!;
    expect(at.bytes).toBe(8193 * 8 + 2 * 16);
    expect(at.spare).toBeDefined();
    const resumed = seededNoiseSource(9, 'resume');
    resumed.resume(at);
    expect(Array.from({ length: 20_000 }, () => resumed.normal())).toEqual(Array.from({ length: 20_000 }, () => whole.normal()));
    const secret = cryptoNoiseSource();
    secret.normal();
    expect(secret.position()).toBeUndefined();
  });
});
