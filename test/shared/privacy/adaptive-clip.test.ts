import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adaptClip, clipIndicator, defaultBitNoise, nextClip, noisyQuantileEstimate, updateNoiseMultiplier } from '../../../shared/privacy/adaptive-clip.ts';
import { seededNoiseSource } from '../../../shared/privacy/noise.ts';

describe('adaptive clipping (Andrew et al. 2021)', () => {
  it('bits, the centred noise-free estimate and the geometric step, by hand', () => {
    expect(clipIndicator(1, 1)).toBe(1);
    expect(clipIndicator(1.0001, 1)).toBe(0);
    const src = seededNoiseSource(0, 'x');
    // 3 of 4 fit, 4 expected: ((1+1+1+0) − 4·½)/4 + ½ = 0.75
    expect(noisyQuantileEstimate([1, 1, 1, 0], 4, 0, src)).toBe(0.75);
    // 3 of 3 arrived but 6 expected: (1.5)/6 + ½ = 0.75
    expect(noisyQuantileEstimate([1, 1, 1], 6, 0, src)).toBe(0.75);
    expect(nextClip(2, 0.75, 0.5, 0.2)).toBeCloseTo(2 * Math.exp(-0.05), 15);
    expect(nextClip(2, 0.25, 0.5, 0.2)).toBeCloseTo(2 * Math.exp(0.05), 15);
    expect(() => noisyQuantileEstimate([1, 2], 2, 0, src)).toThrow(/0 or 1/);
    expect(() => nextClip(1, 0.5, 1, 0.2)).toThrow(/target quantile/);
    expect(() => clipIndicator(NaN, 1)).toThrow(/norm/);
  });

  it('the bit noise has standard deviation σ_b on the count', () => {
    const src = seededNoiseSource(1, 'bits');
    const n = 20_000;
    let s2 = 0;
    for (let i = 0; i < n; i++) s2 += ((noisyQuantileEstimate([1, 0], 10, 5, src) - 0.5) * 10) ** 2;
    expect(Math.sqrt(s2 / n) / 5).toBeGreaterThan(0.98);
    expect(Math.sqrt(s2 / n) / 5).toBeLessThan(1.02);
  });

  it('splits z between bits and updates so that (z_Δ⁻² + (2σ_b)⁻²)^(−½) = z, and refuses σ_b ≤ z/2', () => {
    expect(updateNoiseMultiplier(1, 5)).toBeCloseTo(1 / Math.sqrt(0.99), 15);
    expect(defaultBitNoise(100)).toBe(5);
    fc.assert(
      fc.property(fc.double({ min: 0.05, max: 20, noNaN: true }), fc.double({ min: 0.51, max: 1000, noNaN: true }), (z, k) => {
        const sb = k * z; // σ_b > z/2
        const zd = updateNoiseMultiplier(z, sb);
        return zd > z && Math.abs((zd ** -2 + (2 * sb) ** -2) ** -0.5 / z - 1) < 1e-9;
      }),
    );
    expect(() => updateNoiseMultiplier(1, 0.5)).toThrow(/bit noise σ_b = 0.5 is too small for z = 1.*σ_b > z\/2 = 0.5/);
    expect(() => updateNoiseMultiplier(1, 0.3)).toThrow(/too small/);
    expect(() => updateNoiseMultiplier(1, 0)).toThrow(/bit noise/);
  });

  function run(rounds: number, bitNoise: number, norms: (r: number) => number[], m: number, label: string): number[] {
    const src = seededNoiseSource('adaptive', label);
    let clip = 0.1;
    const history: number[] = [];
    for (let r = 0; r < rounds; r++) {
      clip = adaptClip(clip, norms(r), { targetQuantile: 0.5, learningRate: 0.2, bitNoise, expectedClients: m, source: src }).clip;
      history.push(clip);
    }
    return history;
  }

  it('converges to the median of a fixed grid of norms on [0, 10] with noise off', () => {
    const grid = Array.from({ length: 100 }, (_, i) => 0.05 + i * 0.1);
    const h = run(150, 0, () => grid, 100, 'grid');
    // from 0.1 the clip needs more than ln(50)/0.1 ≈ 39 rounds to reach 5 (b̄ rises on the way),
    // then contracts by ≈ 1 − η·C·f(C) = 0.9 a round onto [4.95, 5.05): every C there is an exact
    // sample median of the grid (b̄ = ½), so the update stops
    expect(h[20]!).toBeLessThan(3);
    for (const c of h.slice(100)) {
      expect(c).toBeGreaterThanOrEqual(4.95);
      expect(c).toBeLessThan(5.05);
    }
  });

  it('tracks the median of norms drawn uniformly on [0, 10] with σ_b = qN/20 noise on the count', () => {
    const m = 100;
    const normSrc = seededNoiseSource('adaptive', 'norms');
    const draw = () => Array.from({ length: m }, () => 10 * normSrc.uniform());
    const h = run(200, defaultBitNoise(m), draw, m, 'noisy');
    const tail = h.slice(100);
    const mean = tail.reduce((a, b) => a + b, 0) / tail.length;
    expect(Math.abs(mean - 5)).toBeLessThan(0.3);
    for (const c of tail) expect(Math.abs(c - 5)).toBeLessThan(1);
    // and a different target: γ = 0.9 → the 9.0 quantile
    const src = seededNoiseSource('adaptive', 'q90');
    let clip = 0.1;
    const tail90: number[] = [];
    for (let r = 0; r < 300; r++) {
      clip = adaptClip(clip, draw(), { targetQuantile: 0.9, learningRate: 0.2, bitNoise: 5, expectedClients: m, source: src }).clip;
      if (r >= 150) tail90.push(clip);
    }
    expect(Math.abs(tail90.reduce((a, b) => a + b, 0) / tail90.length - 9)).toBeLessThan(0.4);
  });
});
