import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../shared/data/dataset.ts';
import { localHoldout } from '../../../shared/data/holdout.ts';

const ds: Dataset = {
  x: Float32Array.from({ length: 100 }, (_, i) => i),
  y: Uint8Array.from({ length: 100 }, (_, i) => (i < 60 ? 0 : 1)),
  size: 100,
  features: 1,
  classes: 2,
};

describe('local hold-out', () => {
  it('cuts a view into disjoint train and hold-out rows that together are the view, stratified and seeded', () => {
    const shard = Uint32Array.from({ length: 50 }, (_, i) => i * 2); // rows 0, 2, … 98: 30 of class 0, 20 of class 1
    const a = localHoldout({ dataset: ds, indices: shard }, 0.2, 7);
    const train = Array.from(a.train.indices!);
    const held = Array.from(a.holdout.indices!);
    expect(held).toHaveLength(10);
    expect(train).toHaveLength(40);
    expect(train.filter((r) => held.includes(r))).toEqual([]);
    expect([...train, ...held].sort((x, y) => x - y)).toEqual(Array.from(shard));
    expect(held.filter((r) => ds.y[r] === 0)).toHaveLength(6);
    expect(Array.from(localHoldout({ dataset: ds, indices: shard }, 0.2, 7).holdout.indices!)).toEqual(held);
    expect(Array.from(localHoldout({ dataset: ds, indices: shard }, 0.2, 8).holdout.indices!)).not.toEqual(held);
  });

  it('refuses fractions outside (0, 0.5] and a split that holds out nothing', () => {
    expect(() => localHoldout({ dataset: ds }, 0, 1)).toThrow(/\(0, 0.5\], got 0/);
    expect(() => localHoldout({ dataset: ds }, 0.6, 1)).toThrow(/\(0, 0.5\], got 0.6/);
    expect(() => localHoldout({ dataset: ds, indices: Uint32Array.of(0, 61) }, 0.1, 1)).toThrow(/holds out no rows of this client's 2/);
  });
});
