import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCsv } from '../../../shared/data/csv.ts';
import { DataError } from '../../../shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('CSV loader', () => {
  it('reads numeric features and the named label column', async () => {
    const ds = await loadCsv(file('ok.csv', 'a,label,b\n0.5,1,2\n1.5,0,-3\n\n'), { label: 'label' });
    expect(ds.size).toBe(2);
    expect(ds.features).toBe(2);
    expect(ds.classes).toBe(2);
    expect([...ds.x]).toEqual([0.5, 2, 1.5, -3]);
    expect([...ds.y]).toEqual([1, 0]);
  });

  it('reports the line of a malformed row', async () => {
    await expect(loadCsv(file('short.csv', 'a,label\n1,0\n2\n'), { label: 'label' })).rejects.toThrow(/short.csv:3: 1 columns, expected 2/);
    await expect(loadCsv(file('nan.csv', 'a,label\n1,0\nx,1\n'), { label: 'label' })).rejects.toThrow(/nan.csv:3: column "a" is not a finite number: "x"/);
    await expect(loadCsv(file('lab.csv', 'a,label\n1,0\n1,2.5\n'), { label: 'label' })).rejects.toThrow(/lab.csv:3: label 2.5 is not a class index/);
    await expect(loadCsv(file('range.csv', 'a,label\n1,3\n'), { label: 'label', classes: 3 })).rejects.toThrow(/label 3 is not a class index in 0..2/);
  });

  it('names a missing file, a missing label column, an empty file and a feature-count mismatch', async () => {
    await expect(loadCsv(join(dir, 'none.csv'), { label: 'y' })).rejects.toThrow(DataError);
    await expect(loadCsv(file('nolabel.csv', 'a,b\n1,2\n'), { label: 'y' })).rejects.toThrow(/no column named "y"/);
    await expect(loadCsv(file('empty.csv', ''), { label: 'y' })).rejects.toThrow(/is empty/);
    await expect(loadCsv(file('header.csv', 'a,y\n'), { label: 'y' })).rejects.toThrow(/no data rows/);
    await expect(loadCsv(file('feat.csv', 'a,y\n1,0\n'), { label: 'y', features: 784 })).rejects.toThrow(/1 feature columns, but the model expects 784/);
  });
});
