import { describe, expect, it } from 'vitest';
import { labelCounts } from '../../../shared/data/dataset.ts';
import { parseDataSpec, parseRunData } from '../../../shared/data/source.ts';
import { loadData } from '../../../shared/data/run-data.ts';
import { generateSynthetic } from '../../../shared/data/synthetic.ts';

describe('synthetic(α, β) data', () => {
  it('is deterministic, naturally partitioned into devices, 90/10 per device, 60 features, 10 classes', () => {
    const a = generateSynthetic(1, 1, 30, 7);
    const b = generateSynthetic(1, 1, 30, 7);
    expect(Buffer.from(a.train.x.buffer).equals(Buffer.from(b.train.x.buffer))).toBe(true);
    expect(a.shards).toHaveLength(30);
    expect(a.shards.reduce((s, x) => s + x.length, 0)).toBe(a.train.size);
    expect(a.train.features).toBe(60);
    expect(a.shards.every((s) => s.length >= 45)).toBe(true); // lognormal + 50, 90 % kept for training
    expect(a.test.size / (a.train.size + a.test.size)).toBeGreaterThan(0.08);
    expect(Math.max(...a.train.y)).toBeLessThan(10);
    expect(generateSynthetic(1, 1, 30, 8).train.size).not.toBe(a.train.size);
  });

  it('α = β = 0 gives similar devices; α = β = 1 gives heterogeneous label mixes', () => {
    const skew = (alpha: number) => {
      const d = generateSynthetic(alpha, alpha, 20, 3);
      return d.shards.map((s) => Math.max(...labelCounts({ dataset: d.train, indices: s })) / s.length).reduce((x, y) => x + y, 0) / d.shards.length;
    };
    expect(skew(1)).toBeGreaterThan(0.4);
  });

  it('data specs parse, and bad ones are named', async () => {
    expect(parseDataSpec('mnist')).toEqual({ kind: 'mnist' });
    expect(parseDataSpec('synthetic:0.5,1')).toEqual({ kind: 'synthetic', alpha: 0.5, beta: 1 });
    expect(() => parseDataSpec('cifar')).toThrow(/unknown data "cifar"/);
    expect(() => parseDataSpec('synthetic:x,1')).toThrow(/synthetic:α,β needs two numbers/);
    expect(parseDataSpec('idx:a.idx,b.idx')).toEqual({ kind: 'idx', images: 'a.idx', labels: 'b.idx' });
    expect(parseDataSpec('csv:rows.csv')).toEqual({ kind: 'csv', path: 'rows.csv' });
    // a run reads a bare path as a CSV file, as a client does
    expect(parseRunData('rows.csv')).toEqual({ kind: 'csv', path: 'rows.csv' });
    expect((await loadData({ source: parseRunData('synthetic:1,1') }, 5, 1)).shards).toHaveLength(5);
  });
});
