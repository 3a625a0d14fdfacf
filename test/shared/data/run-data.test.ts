import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fitModelToData } from '../../../shared/config/model-from-data.ts';
import { loadRunConfig, runConfigFields, resolveRunConfig } from '../../../shared/config.ts';
import { labelCounts } from '../../../shared/data/dataset.ts';
import { encodeIdx } from '../../../shared/data/idx.ts';
import { fitNormalizer } from '../../../shared/data/normalize.ts';
import { loadData } from '../../../shared/data/run-data.ts';
import { DataError } from '../../../shared/errors.ts';
import { mulberry32 } from '../../../shared/rng.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-run-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** 20 rows of each of three named classes, the features drifting with the class so normalisation has something to do. */
function threeClasses(name: string, seed = 1): string {
  const rng = mulberry32(seed);
  const lines = ['a,b,kind'];
  for (let i = 0; i < 60; i++) {
    const c = ['red', 'green', 'blue'][i % 3]!;
    lines.push(`${(10 + (i % 3) * 5 + rng()).toFixed(4)},${(rng() * 100).toFixed(4)},${c}`);
  }
  return file(name, `${lines.join('\n')}\n`);
}

describe("a CSV run's data", () => {
  it('names its classes by the sorted labels, holds out a stratified, seeded test split and a validation split', async () => {
    const source = { kind: 'csv' as const, path: threeClasses('three.csv') };
    const d = await loadData({ source, label: 'kind', validation: 0.1 }, 3, 7);
    expect(d.classNames).toEqual(['blue', 'green', 'red']);
    // a fifth of each class's 20 rows is the test split, a tenth validation, the rest training
    expect(labelCounts({ dataset: d.test })).toEqual([4, 4, 4]);
    expect(labelCounts({ dataset: d.validation! })).toEqual([2, 2, 2]);
    expect(labelCounts({ dataset: d.train })).toEqual([14, 14, 14]);
    const again = await loadData({ source, label: 'kind', validation: 0.1 }, 3, 7);
    expect(again.test.x).toEqual(d.test.x);
    const other = await loadData({ source, label: 'kind', validation: 0.1 }, 3, 8);
    expect(other.test.x).not.toEqual(d.test.x);
    // declared classes set the order
    const declared = await loadData({ source, label: 'kind', classes: ['red', 'green', 'blue'] }, 3, 7);
    expect(declared.classNames).toEqual(['red', 'green', 'blue']);
    expect(labelCounts({ dataset: declared.test })).toEqual([4, 4, 4]);
  });

  it('fits normalisation on the training rows only and applies it to every split', async () => {
    const source = { kind: 'csv' as const, path: threeClasses('norm.csv') };
    const raw = await loadData({ source, label: 'kind' }, 3, 7);
    const scaled = await loadData({ source, label: 'kind', normalize: 'zscore' }, 3, 7);
    const fitted = fitNormalizer('zscore', { dataset: raw.train });
    for (const split of ['train', 'test'] as const) {
      const want = raw[split].x.map((v, i) => (v - fitted.offset[i % 2]!) / fitted.scale[i % 2]!);
      expect([...scaled[split].x].map((v) => v.toFixed(5))).toEqual([...want].map((v) => v.toFixed(5)));
    }
    // the training split has mean 0 per feature; the test split, scaled by the training statistics, need not
    const mean = (x: Float32Array, k: number) => x.filter((_, i) => i % 2 === k).reduce((a, b) => a + b, 0) / (x.length / 2);
    expect(Math.abs(mean(scaled.train.x, 0))).toBeLessThan(1e-5);
  });

  it('takes the test split from a test file read with the training classes: an IDX pair, or a CSV with an unknown label refused', async () => {
    const source = { kind: 'csv' as const, path: threeClasses('train.csv') };
    const images = file('t-images', encodeIdx('float', [2, 2], [10, 1, 20, 2]));
    const labels = file('t-labels', encodeIdx('ubyte', [2], [0, 2]));
    const d = await loadData({ source, label: 'kind', testData: { kind: 'idx', images, labels } }, 3, 7);
    expect(d.test.size).toBe(2);
    expect(d.test.classes).toBe(3);
    expect(d.train.size).toBe(60);
    const bad = file('bad-labels', encodeIdx('ubyte', [2], [0, 3]));
    await expect(loadData({ source, label: 'kind', testData: { kind: 'idx', images, labels: bad } }, 3, 7)).rejects.toThrow(DataError);
    const wide = file('wide.csv', 'a,b,c,kind\n1,2,3,red\n');
    await expect(loadData({ source, label: 'kind', testData: { kind: 'csv', path: wide } }, 3, 7)).rejects.toThrow(/has 3 features, the training data 2/);
    const stranger = file('stranger.csv', 'a,b,kind\n1,2,red\n1,2,purple\n');
    await expect(loadData({ source, label: 'kind', testData: { kind: 'csv', path: stranger } }, 3, 7)).rejects.toThrow(
      /stranger\.csv:3: label "purple" is not one of the classes \(blue, green, red\)/,
    );
  });

  it('refuses more distinct labels than a label byte holds, and a hold-out that holds out nothing', async () => {
    const many = file('many.csv', ['x,y', ...Array.from({ length: 300 }, (_, i) => `${i},name-${i}`)].join('\n'));
    await expect(loadData({ source: { kind: 'csv', path: many }, label: 'y' }, 2, 1)).rejects.toThrow(/300 distinct labels; .* at most 256 classes/);
    const tiny = file('tiny.csv', 'x,y\n1,a\n2,b\n');
    await expect(loadData({ source: { kind: 'csv', path: tiny }, label: 'y' }, 2, 1)).rejects.toThrow(/holds out none of the 2 rows/);
  });
});

describe('a run that names no model', () => {
  it('trains the default MLP sized to its data, and then names it, so the record and a resume hold that model', () => {
    const config = loadRunConfig(undefined, { data: 'iris.csv', label: 'species' });
    expect(config.modelFromData).toBe(true);
    const fitted = fitModelToData(config, { features: 4, classes: 3 }, false);
    expect(fitted.model).toEqual({ type: 'mlp', inputs: 4, hidden: [128], outputs: 3, activation: 'relu' });
    expect(fitted.modelFromData).toBe(false);
    const fields = runConfigFields(fitted);
    expect(fields.model).toEqual(fitted.model);
    expect(resolveRunConfig('record', fields)).toEqual(fitted);
    // a model the config names is never resized
    const named = loadRunConfig(undefined, { data: 'iris.csv', label: 'species', model: { type: 'mlp', inputs: 4, hidden: [8], outputs: 3 } });
    expect(fitModelToData(named, { features: 4, classes: 3 }, false)).toBe(named);
    // text is token ids: the default is kept, and named
    expect(fitModelToData(config, { features: 32, classes: 97 }, true).model).toEqual(config.model);
  });

  it('round-trips the data settings through the flat form', () => {
    const config = loadRunConfig(undefined, {
      data: 'a.csv',
      label: 'y',
      classes: ['b', 'a'],
      cleanRange: [0, 9],
      normalize: 'minmax',
      testData: 'idx:t,l',
      validation: 0.1,
    });
    expect(resolveRunConfig('again', runConfigFields(config))).toEqual(config);
  });
});
