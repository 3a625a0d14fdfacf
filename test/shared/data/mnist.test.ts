import { describe, expect, it } from 'vitest';
import { labelCounts } from '../../../shared/data/dataset.ts';
import { loadMnist, loadMnistSorted } from '../../../shared/data/mnist.ts';

describe('MNIST loader', () => {
  it('reads the 10,000 real digits, class-sorted, pixels in [0, 1]', () => {
    const all = loadMnistSorted();
    expect(all.size).toBe(10_000);
    expect(all.features).toBe(784);
    expect(all.y[0]).toBe(0);
    expect(all.y[9_999]).toBe(9);
    expect(labelCounts({ dataset: all })).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    let min = Infinity;
    let max = -Infinity;
    for (const v of all.x) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });

  it('shuffles with the fixed seed, then splits 8,000 / 2,000 with every class on both sides', () => {
    const a = loadMnist();
    const b = loadMnist();
    expect(a.train.size).toBe(8000);
    expect(a.test.size).toBe(2000);
    expect(Buffer.from(a.train.y).equals(Buffer.from(b.train.y))).toBe(true);
    const trainCounts = labelCounts({ dataset: a.train });
    const testCounts = labelCounts({ dataset: a.test });
    expect(trainCounts.every((c) => c > 600)).toBe(true);
    expect(testCounts.every((c) => c > 150)).toBe(true);
    expect(trainCounts.map((c, i) => c + testCounts[i]!)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    // not class-sorted any more
    expect(new Set(a.train.y.subarray(0, 50)).size).toBeGreaterThan(5);
    expect(a.train.x.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
