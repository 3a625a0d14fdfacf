import { describe, expect, it } from 'vitest';
import { initWeights, paramCount, paramShapes } from '../../shared/models/registry.ts';
import { DEFAULT_MODEL, type ModelSpec } from '../../shared/models/spec.ts';
import { add, allFinite, firstNonFinite, flatten, subtract, unflatten } from '../../shared/weights.ts';

describe('flat weights', () => {
  it('lays the MLP out as kernel, bias per layer with the expected sizes', () => {
    const shapes = paramShapes(DEFAULT_MODEL);
    expect(shapes.map((s) => s.shape)).toEqual([[784, 128], [128], [128, 10], [10]]);
    expect(paramCount(DEFAULT_MODEL)).toBe(784 * 128 + 128 + 128 * 10 + 10);
    const twoNN: ModelSpec = { type: 'mlp', inputs: 784, hidden: [200, 200], outputs: 10, activation: 'relu' };
    expect(paramCount(twoNN)).toBe(199_210);
  });

  it('round-trips flatten ∘ unflatten exactly', () => {
    const shapes = paramShapes(DEFAULT_MODEL);
    const flat = initWeights(DEFAULT_MODEL, 7);
    const parts = unflatten(flat, shapes);
    expect(parts.map((p) => p.length)).toEqual([100352, 128, 1280, 10]);
    const again = flatten(parts, shapes);
    expect(Buffer.from(again.buffer).equals(Buffer.from(flat.buffer))).toBe(true);
  });

  it('rejects arrays of the wrong length with a precise message', () => {
    const shapes = paramShapes(DEFAULT_MODEL);
    expect(() => unflatten(new Float32Array(5), shapes)).toThrow(/got 5 values, the model has 101770/);
    expect(() => flatten([new Float32Array(3)], shapes)).toThrow(/got 1 arrays for 4 parameters/);
  });

  it('initialises deterministically: glorot-uniform kernels within their limit, zero biases', () => {
    const a = initWeights(DEFAULT_MODEL, 1);
    const b = initWeights(DEFAULT_MODEL, 1);
    const c = initWeights(DEFAULT_MODEL, 2);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    const [k0, b0] = unflatten(a, paramShapes(DEFAULT_MODEL));
    const limit = Math.sqrt(6 / (784 + 128));
    expect(Math.max(...k0!.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...k0!.map(Math.abs))).toBeGreaterThan(limit * 0.99);
    expect([...b0!].every((v) => v === 0)).toBe(true);
  });

  it('computes deltas and applies them', () => {
    const g = Float32Array.of(1, 2, 3);
    const l = Float32Array.of(1.5, 1, 3);
    const d = subtract(l, g);
    expect([...d]).toEqual([0.5, -1, 0]);
    expect([...add(g, d)]).toEqual([1.5, 1, 3]);
    expect(allFinite(d)).toBe(true);
    expect(allFinite(Float32Array.of(1, NaN))).toBe(false);
    expect(allFinite(Float32Array.of(Infinity))).toBe(false);
  });

  it('finds the first NaN or ±Infinity by its bits, in a view at any offset, and agrees with Number.isFinite on every float32 class', () => {
    const specials = [0, -0, 1, -1, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, Infinity, -Infinity, NaN];
    for (const v of specials) expect(firstNonFinite(Float32Array.of(1, 2, v))).toBe(Number.isFinite(v) ? -1 : 2);
    // a NaN with payload bits, and the largest finite value's neighbour
    const raw = new Uint32Array([0x3f800000, 0x7fc00001, 0xff800000, 0x7f7fffff]);
    expect(firstNonFinite(new Float32Array(raw.buffer))).toBe(1);
    expect(firstNonFinite(new Float32Array(raw.buffer, 8, 2))).toBe(0);
    expect(firstNonFinite(new Float32Array(raw.buffer, 12, 1))).toBe(-1);
    expect(firstNonFinite(Float64Array.of(1, Number.MAX_VALUE, -Infinity))).toBe(2);
  });
});
