import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openClientData, openDataSource, parseClientData } from '../../../client/data-source.ts';
import type { Dataset } from '../../../shared/data/dataset.ts';
import { applyNormalizer, fitNormalizer, parseNormalizeKind } from '../../../shared/data/normalize.ts';
import { ConfigError, DataError } from '../../../shared/errors.ts';

// three features: a ramp, a constant, and one with an outlier in the held-out rows (2 and 3)
const ds: Dataset = {
  x: Float32Array.from([0, 5, 2, 10, 5, 4, 4, 5, 1000, -20, 5, 6]),
  y: Uint8Array.from([0, 1, 0, 1]),
  size: 4,
  features: 3,
  classes: 2,
};
const trainRows = { dataset: ds, indices: Uint32Array.from([0, 1]) };

describe('normalization', () => {
  it('min-max is fitted on the training rows only and applied to all, constants map to 0', () => {
    const n = fitNormalizer('minmax', trainRows);
    expect([...n.offset]).toEqual([0, 5, 2]);
    expect([...n.scale]).toEqual([10, 1, 2]);
    const out = applyNormalizer(n, ds);
    expect([...out.x.subarray(0, 6)]).toEqual([0, 0, 0, 1, 0, 1]);
    // held-out rows may leave [0, 1]: their values never shaped the statistics
    expect(out.x[6]).toBeCloseTo(0.4);
    expect(out.x[8]).toBeCloseTo(499);
    expect(out.x[9]).toBeCloseTo(-2);
    expect([...ds.x.subarray(0, 3)]).toEqual([0, 5, 2]); // the input is untouched
    expect(out.y).toBe(ds.y);
  });

  it('z-score gives the training rows mean 0 and standard deviation 1', () => {
    const xs = Float32Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 3 + Math.sin(i) * 4 : -7 + (i % 7)));
    const big: Dataset = { x: xs, y: new Uint8Array(200), size: 200, features: 2, classes: 1 };
    const out = applyNormalizer(fitNormalizer('zscore', { dataset: big }), big);
    for (let k = 0; k < 2; k++) {
      const col = Array.from({ length: 200 }, (_, r) => out.x[r * 2 + k]!);
      const mean = col.reduce((a, b) => a + b, 0) / 200;
      const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / 200);
      expect(mean).toBeCloseTo(0, 5);
      expect(sd).toBeCloseTo(1, 5);
    }
    expect([...applyNormalizer(fitNormalizer('zscore', trainRows), ds).x.subarray(0, 3)]).toEqual([-1, 0, -1]);
  });

  it('refuses what it cannot do, with the reason', async () => {
    expect(() => parseNormalizeKind('l2')).toThrow(ConfigError);
    expect(() => fitNormalizer('minmax', { dataset: ds, indices: new Uint32Array(0) })).toThrow(/empty split/);
    const other: Dataset = { ...ds, x: new Float32Array(8), features: 2 };
    expect(() => applyNormalizer(fitNormalizer('minmax', { dataset: ds }), other)).toThrow(DataError);
    await expect(openDataSource({ data: { kind: 'mnist' }, partition: { kind: 'iid' }, seed: 1, normalize: 'zscore' })).rejects.toThrow(
      /--normalize applies to CSV and IDX data/,
    );
  });

  it('a CSV client normalizes its own rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starling-norm-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'site.csv');
    writeFileSync(path, 'a,b,label\n1,100,0\n3,300,1\n');
    const view = await openDataSource({ data: parseClientData(path), label: 'label', partition: { kind: 'iid' }, seed: 1, normalize: 'minmax' });
    expect([...view.dataset.x]).toEqual([0, 0, 1, 1]);
  });

  it('with a local hold-out, the normalizer is fitted on the local training rows only and applied to the hold-out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starling-norm-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'site.csv');
    // 40 rows, 6 features of distinct values, 2 classes
    const rows = Array.from({ length: 40 }, (_, r) => [...Array.from({ length: 6 }, (_, k) => ((r * 7 + k * 13) % 41) * (k + 1)), r % 2].join(','));
    writeFileSync(path, `${['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'label'].join(',')}\n${rows.join('\n')}\n`);
    const raw = await openDataSource({ data: parseClientData(path), label: 'label', partition: { kind: 'iid' }, seed: 3 });
    const local = await openClientData({
      data: parseClientData(path),
      label: 'label',
      partition: { kind: 'iid' },
      seed: 3,
      normalize: 'minmax',
      localValidation: 0.25,
    });
    const train = Array.from(local.train.indices!);
    const held = Array.from(local.holdout!.indices!);
    expect(held).toHaveLength(10);
    expect(train.filter((r) => held.includes(r))).toEqual([]);
    const value = (x: Float32Array, r: number, k: number) => x[r * 6 + k]!;
    let differsFromAllRows = false;
    for (let k = 0; k < 6; k++) {
      const col = (rs: number[]) => rs.map((r) => value(raw.dataset.x, r, k));
      const lo = Math.min(...col(train));
      const hi = Math.max(...col(train));
      if (lo !== Math.min(...col([...train, ...held])) || hi !== Math.max(...col([...train, ...held]))) differsFromAllRows = true;
      // every row, held out or not, is scaled with the training rows' min and max
      for (const r of [...train, ...held]) expect(value(local.train.dataset.x, r, k)).toBeCloseTo((value(raw.dataset.x, r, k) - lo) / (hi - lo), 5);
      expect(Math.min(...train.map((r) => value(local.train.dataset.x, r, k)))).toBeCloseTo(0, 6);
      expect(Math.max(...train.map((r) => value(local.train.dataset.x, r, k)))).toBeCloseTo(1, 6);
    }
    // the data is chosen so that fitting on all rows would give other statistics
    expect(differsFromAllRows).toBe(true);
    expect(local.holdout!.dataset).toBe(local.train.dataset);
  });
});
