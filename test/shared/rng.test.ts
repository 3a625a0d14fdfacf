import { describe, expect, it } from 'vitest';
import { deriveSeed, dirichlet, gamma, mulberry32, permutation } from '../../shared/rng.ts';

describe('seeded randomness', () => {
  it('mulberry32 is reproducible and uniform-looking', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });

  it('permutation holds every index once', () => {
    const p = permutation(1000, mulberry32(1));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('deriveSeed separates streams', () => {
    expect(deriveSeed(1, 2, 3)).toBe(deriveSeed(1, 2, 3));
    expect(new Set([deriveSeed(1, 1), deriveSeed(1, 2), deriveSeed(2, 1), deriveSeed(1, 1, 0)]).size).toBe(4);
  });

  it('gamma has mean ≈ shape; dirichlet sums to 1', () => {
    const rng = mulberry32(9);
    for (const shape of [0.3, 1, 4]) {
      let s = 0;
      for (let i = 0; i < 20_000; i++) s += gamma(shape, rng);
      expect(Math.abs(s / 20_000 - shape) / shape).toBeLessThan(0.05);
    }
    const d = dirichlet(0.5, 10, rng);
    expect(d.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(() => gamma(0, rng)).toThrow(/shape must be > 0/);
  });
});
