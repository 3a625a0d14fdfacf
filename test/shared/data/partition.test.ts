import { describe, expect, it } from 'vitest';
import { labelCounts } from '../../../shared/data/dataset.ts';
import { loadMnist } from '../../../shared/data/mnist.ts';
import { parsePartition, partition, partitionDirichlet, partitionIid, sampleShard, shardSource } from '../../../shared/data/partition.ts';

const { train } = loadMnist();

function expectExactCover(shards: Uint32Array[], n: number) {
  const seen = new Uint8Array(n);
  let total = 0;
  for (const s of shards) {
    for (const i of s) {
      expect(seen[i]).toBe(0);
      seen[i] = 1;
    }
    total += s.length;
  }
  expect(total).toBe(n);
}

/** Mean over clients of the share of its largest class: 0.1 for perfect IID over 10 classes, 1 when each client holds one class. */
function skew(shards: Uint32Array[]): number {
  let sum = 0;
  for (const s of shards) {
    const c = labelCounts({ dataset: train, indices: s });
    sum += Math.max(...c) / s.length;
  }
  return sum / shards.length;
}

describe('partitioners', () => {
  it('IID: sizes add up, differ by at most one, shards are disjoint', () => {
    const shards = partitionIid(train.size, 7, 1);
    expect(shards.map((s) => s.length).reduce((a, b) => a + b)).toBe(8000);
    const sizes = shards.map((s) => s.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expectExactCover(shards, train.size);
  });

  it('IID and Dirichlet are deterministic for a seed', () => {
    expect(partitionIid(100, 3, 5)).toEqual(partitionIid(100, 3, 5));
    expect(partitionIid(100, 3, 5)).not.toEqual(partitionIid(100, 3, 6));
    expect(partitionDirichlet(train.y, 10, 10, 0.5, 3)).toEqual(partitionDirichlet(train.y, 10, 10, 0.5, 3));
  });

  it('Dirichlet: every row to exactly one client, no client empty', () => {
    for (const alpha of [0.05, 0.5, 100]) {
      const shards = partitionDirichlet(train.y, 10, 10, alpha, 11);
      expectExactCover(shards, train.size);
      expect(shards.every((s) => s.length > 0)).toBe(true);
    }
  });

  it('Dirichlet: label skew grows as alpha falls', () => {
    const s100 = skew(partitionDirichlet(train.y, 10, 10, 100, 4));
    const s1 = skew(partitionDirichlet(train.y, 10, 10, 1, 4));
    const s01 = skew(partitionDirichlet(train.y, 10, 10, 0.1, 4));
    const sIid = skew(partitionIid(train.size, 10, 4));
    expect(sIid).toBeLessThan(0.16);
    expect(s100).toBeLessThan(s1);
    expect(s1).toBeLessThan(s01);
    expect(s01).toBeGreaterThan(0.5);
  });

  it('parses partition names and rejects bad ones', () => {
    expect(parsePartition('iid')).toEqual({ kind: 'iid' });
    expect(parsePartition('dirichlet:0.3')).toEqual({ kind: 'dirichlet', alpha: 0.3 });
    expect(() => parsePartition('dirichlet:-1')).toThrow(/alpha must be a positive number/);
    expect(() => parsePartition('shards')).toThrow(/unknown partition "shards"/);
    expect(() => partitionIid(3, 4, 1)).toThrow(/cannot split 3 rows among 4 clients/);
  });
});

describe('pathological shards', () => {
  it('deal k label-sorted shards per client: an exact cover, and most clients see about k classes', async () => {
    const { partitionShards } = await import('../../../shared/data/partition.ts');
    const shards = partitionShards(train.y, 100, 2, 3);
    expectExactCover(shards, train.size);
    expect(shards.every((s) => s.length === 80)).toBe(true);
    const classes = shards.map((s) => labelCounts({ dataset: train, indices: s }).filter((c) => c > 0).length);
    expect(classes.filter((c) => c <= 3).length).toBeGreaterThan(90);
    expect(partitionShards(train.y, 100, 2, 3)).toEqual(shards);
    expect(parsePartition('shards:2')).toEqual({ kind: 'shards', perClient: 2 });
    expect(() => parsePartition('shards:0')).toThrow(/positive integer/);
  });
});

describe('quantity skew', () => {
  it('covers every row once with unequal, seeded client sizes', async () => {
    const { partitionQuantity } = await import('../../../shared/data/partition.ts');
    const shards = partitionQuantity(train.size, 20, 1.5, 4);
    expectExactCover(shards, train.size);
    const sizes = shards.map((s) => s.length);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(5);
    expect(partitionQuantity(train.size, 20, 1.5, 4)).toEqual(shards);
    expect(parsePartition('quantity:1.5')).toEqual({ kind: 'quantity', sigma: 1.5 });
    expect(() => parsePartition('quantity:-1')).toThrow(/positive number/);
  });
});

describe('sample: a draw of rows per client', () => {
  it('gives each client `rows` distinct rows in range, a pure function of (seed, client), the same lazily and eagerly', () => {
    const labels = new Uint8Array(1000);
    const lazy = shardSource({ kind: 'sample', rows: 40 }, labels, 10, 100_000, 3);
    const eager = partition({ kind: 'sample', rows: 40 }, labels, 10, 5, 3);
    for (let c = 0; c < 5; c++) expect(lazy(c)).toEqual(eager[c]);
    for (const c of [0, 1, 99_999]) {
      const rows = lazy(c);
      expect(rows).toHaveLength(40);
      expect(new Set(rows).size).toBe(40);
      expect(rows.every((r) => r < 1000)).toBe(true);
      expect(lazy(c)).toEqual(rows);
    }
    expect(lazy(0)).not.toEqual(lazy(1));
    expect(sampleShard(1000, 40, 4, 0)).not.toEqual(lazy(0));
    // all rows of a tiny set: a permutation of it
    expect([...sampleShard(5, 5, 1, 2)].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('draws every row about equally often over many clients', () => {
    const counts = new Array(50).fill(0);
    for (let c = 0; c < 2000; c++) for (const r of sampleShard(50, 5, 9, c)) counts[r]++;
    // 2,000 × 5 / 50 = 200 per row
    for (const n of counts) expect(Math.abs(n - 200)).toBeLessThan(60);
  });

  it('parses sample:<rows> and refuses what it cannot draw', () => {
    expect(parsePartition('sample:32')).toEqual({ kind: 'sample', rows: 32 });
    expect(() => parsePartition('sample:0')).toThrow(/rows per client must be a positive integer, got "0"/);
    expect(() => parsePartition('sample:1.5')).toThrow(/rows per client/);
    expect(() => shardSource({ kind: 'sample', rows: 11 }, new Uint8Array(10), 10, 3, 1)).toThrow(/cannot draw 11 rows per client from 10 rows/);
  });
});
