import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.ts';
import { gatherTrainable, layerNames, layoutOf, matchesName, scatterTrainable, trainableLayout } from '../../shared/trainable.ts';
import type { ParamShape } from '../../shared/weights.ts';

const nested: ParamShape[] = [
  { name: 'embed/kernel', shape: [2] },
  { name: 'block0/attn/query/kernel', shape: [3] },
  { name: 'block0/attn/query/bias', shape: [1] },
  { name: 'block0/mlp/kernel', shape: [2] },
  { name: 'head/kernel', shape: [2] },
  { name: 'head/bias', shape: [1] },
];

describe('trainable layout', () => {
  it('a name matches itself or a "/"-prefix, never a bare string prefix', () => {
    expect(matchesName('dense0', 'dense0/kernel')).toBe(true);
    expect(matchesName('dense0/kernel', 'dense0/kernel')).toBe(true);
    expect(matchesName('dense0', 'dense01/kernel')).toBe(false);
    expect(matchesName('dense', 'dense0/kernel')).toBe(false);
    expect(matchesName('block0/attn', 'block0/attn/query/kernel')).toBe(true);
    expect(matchesName('block0/at', 'block0/attn/query/kernel')).toBe(false);
  });

  it('lists every group name in flat order', () => {
    expect(layerNames(nested)).toEqual([
      'embed',
      'embed/kernel',
      'block0',
      'block0/attn',
      'block0/attn/query',
      'block0/attn/query/kernel',
      'block0/attn/query/bias',
      'block0/mlp',
      'block0/mlp/kernel',
      'head',
      'head/kernel',
      'head/bias',
    ]);
  });

  it('freezes groups at any depth and merges adjacent trainable runs', () => {
    const a = layoutOf(nested, ['block0/attn']);
    expect(a.trainable).toEqual([true, false, false, true, true, true]);
    expect(a.segments).toEqual([
      { offset: 0, length: 2 },
      { offset: 6, length: 5 },
    ]);
    expect(a.trainableCount).toBe(7);
    expect(a.totalCount).toBe(11);
    expect(a.all).toBe(false);
    expect(layoutOf(nested, ['block0']).trainable).toEqual([true, false, false, false, true, true]);
    expect(layoutOf(nested, ['head/bias', 'embed']).segments).toEqual([{ offset: 2, length: 8 }]);
    expect(layoutOf(nested, []).all).toBe(true);
  });

  it('gathers and scatters the trainable values, keeping frozen ones byte for byte', () => {
    const layout = layoutOf(nested, ['block0/attn/query', 'head/bias']);
    const full = Float32Array.from({ length: 11 }, (_, i) => i + 0.5);
    const t = gatherTrainable(full, layout);
    expect(Array.from(t)).toEqual([0.5, 1.5, 6.5, 7.5, 8.5, 9.5]);
    const base = Float32Array.from({ length: 11 }, (_, i) => -i);
    const merged = scatterTrainable(t, base, layout);
    expect(Array.from(merged)).toEqual([0.5, 1.5, -2, -3, -4, -5, 6.5, 7.5, 8.5, 9.5, -10]);
    expect(Array.from(base)).toEqual(Array.from({ length: 11 }, (_, i) => -i)); // not mutated
    expect(() => scatterTrainable(new Float32Array(5), base, layout)).toThrow(/got 5 trainable values, the model has 6/);
    expect(() => gatherTrainable(new Float32Array(3), layout)).toThrow(/got 3 values, the model has 11/);
  });

  it('refuses unknown names (listing the valid ones) and freezing everything', () => {
    const mlp = { type: 'mlp' as const, inputs: 4, hidden: [3], outputs: 2, activation: 'relu' as const };
    expect(() => trainableLayout(mlp, ['dense2'])).toThrow(ConfigError);
    expect(() => trainableLayout(mlp, ['dense2', 'dens'])).toThrow(
      'freeze: unknown layer "dense2", "dens" (this model has: dense0, dense0/kernel, dense0/bias, dense1, dense1/kernel, dense1/bias)',
    );
    expect(() => trainableLayout(mlp, ['dense0', 'dense1'])).toThrow(/freezes every parameter/);
    expect(trainableLayout(mlp, ['dense0']).trainableCount).toBe(3 * 2 + 2);
  });
});
