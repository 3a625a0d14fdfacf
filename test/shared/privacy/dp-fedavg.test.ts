import { describe, expect, it } from 'vitest';
import { dpFedAvg, localDp } from '../../../shared/privacy/dp-fedavg.ts';
import { seededNoiseSource } from '../../../shared/privacy/noise.ts';

const src = () => seededNoiseSource('dp-fedavg', 'test');

function std(xs: Float32Array, center: (i: number) => number): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - center(i)) ** 2;
  return Math.sqrt(s / xs.length);
}

describe('central DP-FedAvg', () => {
  // Δ₁ = (3, 4) has norm 5, Δ₂ = (0.6, 0.8) norm 1; with S = 2, Δ₁ → (1.2, 1.6), Δ₂ unchanged
  const deltas = [Float32Array.from([3, 4]), Float32Array.from([0.6, 0.8])];

  it('z = 0: the exact clipped sum over the EXPECTED count, by hand', () => {
    const r = dpFedAvg(deltas, { clip: 2, noiseMultiplier: 0, expectedClients: 2, source: src() });
    expect(r.update[0]).toBeCloseTo(0.9, 6);
    expect(r.update[1]).toBeCloseTo(1.2, 6);
    expect(r.norms[0]).toBeCloseTo(5, 12);
    expect(r.norms[1]).toBeCloseTo(1, 6);
    expect(r.clippedCount).toBe(1);
    expect(r.sigma).toBe(0);
    // 4 clients expected, 2 arrived: the denominator stays 4
    const fixed = dpFedAvg(deltas, { clip: 2, noiseMultiplier: 0, expectedClients: 4, source: src() });
    expect(fixed.update[0]).toBeCloseTo(0.45, 6);
    expect(fixed.update[1]).toBeCloseTo(0.6, 6);
    expect(Array.from(deltas[0]!)).toEqual([3, 4]);
  });

  it('noise has standard deviation σ = z·S/(qN) around the clipped mean', () => {
    const dim = 100_000;
    const a = new Float32Array(dim).fill(0.001);
    const b = new Float32Array(dim).fill(-0.003);
    const r = dpFedAvg([a, b], { clip: 10, noiseMultiplier: 1.5, expectedClients: 5, source: src() });
    expect(r.sigma).toBeCloseTo(3, 12);
    const s = std(r.update, () => (0.001 - 0.003) / 5);
    expect(s / 3).toBeGreaterThan(0.99);
    expect(s / 3).toBeLessThan(1.01);
  });

  it('an empty round releases pure noise of the right length when told the dimension, else refuses', () => {
    const r = dpFedAvg([], { clip: 1, noiseMultiplier: 1, expectedClients: 10, source: src(), dimension: 50_000 });
    expect(r.update.length).toBe(50_000);
    expect(std(r.update, () => 0) / 0.1).toBeCloseTo(1, 1);
    expect(() => dpFedAvg([], { clip: 1, noiseMultiplier: 1, expectedClients: 10, source: src() })).toThrow(/no client updates/);
  });

  it('refuses mismatched lengths, non-finite values and bad parameters', () => {
    const base = { clip: 1, noiseMultiplier: 1, expectedClients: 2, source: src() };
    expect(() => dpFedAvg([Float32Array.from([1, 2]), Float32Array.from([1])], base)).toThrow(/client update 1 has length 1, expected 2/);
    expect(() => dpFedAvg([Float32Array.from([1, NaN])], base)).toThrow(/non-finite/);
    expect(() => dpFedAvg(deltas, { ...base, clip: 0 })).toThrow(/clip norm/);
    expect(() => dpFedAvg(deltas, { ...base, expectedClients: 0 })).toThrow(/expected clients/);
    expect(() => dpFedAvg(deltas, { ...base, noiseMultiplier: -1 })).toThrow(/noise multiplier/);
    expect(() => dpFedAvg(deltas, { ...base, dimension: 3 })).toThrow(/dimension 3/);
  });
});

describe('local DP', () => {
  it('z = 0 gives exactly the clipped update; otherwise noise of std z·S', () => {
    const r0 = localDp(Float32Array.from([3, 4]), { clip: 1, noiseMultiplier: 0, source: src() });
    expect(r0.update[0]).toBeCloseTo(0.6, 6);
    expect(r0.update[1]).toBeCloseTo(0.8, 6);
    expect(r0.norm).toBe(5);
    const dim = 100_000;
    const v = new Float32Array(dim).fill(0.002); // norm ≈ 0.63, under S = 2
    const r = localDp(v, { clip: 2, noiseMultiplier: 0.5, source: src() });
    expect(r.sigma).toBe(1);
    const s = std(r.update, () => 0.002);
    expect(s).toBeGreaterThan(0.99);
    expect(s).toBeLessThan(1.01);
    expect(v[0]).toBeCloseTo(0.002, 9);
    expect(() => localDp(v, { clip: -1, noiseMultiplier: 1, source: src() })).toThrow(/clip norm/);
  });
});
