import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.ts';
import { loadData, stratifiedSplit } from '../../../shared/data/source.ts';

describe('validation split', () => {
  it('stratifiedSplit holds out the fraction of every class, disjointly, the same for the same seed', () => {
    const labels = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 4);
    const a = stratifiedSplit(labels, 4, 0.2, 5);
    const b = stratifiedSplit(labels, 4, 0.2, 5);
    const c = stratifiedSplit(labels, 4, 0.2, 6);
    expect(a.held.length + a.train.length).toBe(1000);
    expect(new Set([...a.held, ...a.train]).size).toBe(1000);
    for (let k = 0; k < 4; k++) expect([...a.held].filter((i) => labels[i] === k).length).toBe(50);
    expect([...a.held]).toEqual([...b.held]);
    expect([...c.held]).not.toEqual([...a.held]);
    expect(() => stratifiedSplit(labels, 4, 1, 5)).toThrow(/in \(0, 1\)/);
  });

  it('loadData holds a validation split out of the MNIST training rows and keeps the test split whole', () => {
    const full = loadData('mnist', 4, 1);
    const split = loadData('mnist', 4, 1, 0.1);
    expect(full.validation).toBeUndefined();
    expect(split.validation!.size + split.train.size).toBe(full.train.size);
    expect(split.validation!.size).toBeCloseTo(full.train.size * 0.1, -1);
    expect(split.test.size).toBe(full.test.size);
    expect(() => loadData('synthetic:1,1', 4, 1, 0.1)).toThrow(ConfigError);
  });
});
