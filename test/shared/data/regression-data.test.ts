import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fitModelToData } from '../../../shared/config/model-from-data.ts';
import { loadRunConfig, runConfigFields } from '../../../shared/config.ts';
import { loadCsvCleaned, readCsv } from '../../../shared/data/csv.ts';
import { subset } from '../../../shared/data/dataset.ts';
import { loadData } from '../../../shared/data/run-data.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-regression-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Rows whose target is 10·i + 0.5, so each row's target says which row it is. */
function numbered(name: string, rows: number): string {
  const lines = ['a,price,b'];
  for (let i = 0; i < rows; i++) lines.push(`${i},${10 * i + 0.5},${-i}`);
  return file(name, `${lines.join('\n')}\n`);
}

describe('CSV regression data', () => {
  it('reads the label column as real-valued targets: classes 1, y all zeros, the features around it', async () => {
    const { dataset, columns } = await readCsv(numbered('five.csv', 5), { label: 'price', task: 'regression' });
    expect(columns).toEqual(['a', 'b']);
    expect(dataset.classes).toBe(1);
    expect(Array.from(dataset.targets!)).toEqual([0.5, 10.5, 20.5, 30.5, 40.5]);
    expect(Array.from(dataset.y)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(dataset.x.subarray(2, 4))).toEqual([1, -1]);
    // the same file as classes: 0.5 is no class index
    await expect(readCsv(numbered('five-c.csv', 5), { label: 'price' })).rejects.toThrow(/label 0\.5 is not a class index/);
  });

  it('a missing or non-numeric target fails naming its line, or is a reported drop with cleaning', async () => {
    const path = file('bad.csv', 'a,y\n1,2.5\n2,\n3,abc\n4,-7e3\n');
    await expect(readCsv(path, { label: 'y', task: 'regression' })).rejects.toThrow(`${path}:3: the target column "y" is not a finite number: ""`);
    const cleaned = await loadCsvCleaned(path, { label: 'y', task: 'regression' });
    expect(Array.from(cleaned.dataset.targets!)).toEqual([2.5, -7000]);
    expect(cleaned.report.dropped.missing).toBe(2);
    expect(cleaned.report.drops.map((d) => d.line)).toEqual([3, 4]);
  });

  it('subset carries the targets row by row', async () => {
    const { dataset } = await readCsv(numbered('subset.csv', 6), { label: 'price', task: 'regression' });
    const picked = subset(dataset, [4, 1]);
    expect(Array.from(picked.targets!)).toEqual([40.5, 10.5]);
    expect(picked.targets!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(picked.x)).toEqual([4, -4, 1, -1]);
  });

  it('a run splits the rows seeded and unstratified, every split keeping each row with its own target', async () => {
    const path = numbered('hundred.csv', 100);
    const options = { source: { kind: 'csv' as const, path }, task: 'regression' as const, label: 'price', validation: 0.1, normalize: 'zscore' as const };
    const d = await loadData(options, 3, 7);
    expect([d.train.size, d.validation!.size, d.test.size]).toEqual([70, 10, 20]);
    const targets = [d.train, d.validation!, d.test].flatMap((s) => Array.from(s.targets!));
    // every row lands in exactly one split
    expect(targets.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => 10 * i + 0.5));
    // normalisation scales the features and leaves the targets as they are
    const first = d.test.targets![0]!;
    expect(Number.isInteger((first - 0.5) / 10)).toBe(true);
    // the same seed cuts the same rows; another seed others
    const again = await loadData(options, 3, 7);
    expect(Array.from(again.test.targets!)).toEqual(Array.from(d.test.targets!));
    const other = await loadData(options, 3, 8);
    expect(Array.from(other.test.targets!)).not.toEqual(Array.from(d.test.targets!));
  });

  it('a regression config round-trips, and its default model is an MLP with one linear output trained on MSE', async () => {
    const path = numbered('config.csv', 30);
    const config = loadRunConfig(undefined, { data: path, label: 'price', task: 'regression' });
    expect(config.data.task).toBe('regression');
    const fields = runConfigFields(config);
    expect(fields.task).toBe('regression');
    expect(loadRunConfig(undefined, fields)).toEqual(config);
    const d = await loadData(config.data, config.clients, config.seed);
    const model = fitModelToData(config, d.train, false).model;
    expect(model).toMatchObject({ type: 'mlp', inputs: 2, hidden: [128], outputs: 1, activation: 'relu', loss: 'mse' });
    // the output is scaled by the training targets' mean and standard deviation
    const targets = Array.from(d.train.targets!);
    const mean = targets.reduce((a, b) => a + b, 0) / targets.length;
    const std = Math.sqrt(targets.reduce((a, b) => a + (b - mean) ** 2, 0) / targets.length);
    expect(model.type === 'mlp' && model.target).toEqual({ mean: [expect.closeTo(mean, 6)], std: [expect.closeTo(std, 6)] });
    expect(loadRunConfig(undefined, {}).data.task).toBe('classification');
  });

  it('refuses what needs classes or other data, naming the field', () => {
    const path = numbered('refuse.csv', 10);
    const base = { data: path, label: 'price', task: 'regression' };
    expect(() => loadRunConfig(undefined, { ...base, partition: 'dirichlet:0.5' })).toThrow(/partition: dirichlet deals rows out by class/);
    expect(() => loadRunConfig(undefined, { ...base, partition: 'shards:2' })).toThrow(/partition: shards deals rows out by class/);
    expect(() => loadRunConfig(undefined, { ...base, classes: 'a,b' })).toThrow(/classes: a regression target is a number/);
    expect(() => loadRunConfig(undefined, { ...base, targetAccuracy: 0.9 })).toThrow(/targetAccuracy: a regression run reports no accuracy/);
    expect(() => loadRunConfig(undefined, { ...base, patience: 3 })).toThrow(/patience: early stopping watches the evaluated accuracy/);
    expect(() => loadRunConfig(undefined, { task: 'regression' })).toThrow(/task: regression reads its targets from a CSV file's label column, not mnist data/);
    const classifier = { type: 'mlp', inputs: 2, hidden: [4], outputs: 2 };
    expect(() => loadRunConfig(undefined, { ...base, model: classifier })).toThrow(/model: regression trains an MLP with loss: mse/);
    expect(() => loadRunConfig(undefined, { data: path, label: 'price', model: { ...classifier, outputs: 1, loss: 'mse' } })).toThrow(
      /model: loss: mse trains a regression model: set task: regression/,
    );
    // iid and quantity skew only sizes, which a regression run takes
    expect(loadRunConfig(undefined, { ...base, partition: 'quantity:1' }).data.partition.kind).toBe('quantity');
  });
});
