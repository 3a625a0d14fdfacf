import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataSource, parseClientData } from '../../../client/data-source.ts';
import { formatCleanReport, formatDrops, parseRange, RowCleaner } from '../../../shared/data/clean.ts';
import { loadCsv, loadCsvCleaned } from '../../../shared/data/csv.ts';
import { ConfigError, DataError } from '../../../shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-clean-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

// line 1 is the header; lines 2..10 hold one row each (line 6 has too few columns)
const DIRTY = ['a,b,label', '1,2,0', '1,2,0', '3,,1', '5,6,7', '7,8', '9,NaN,1', '1,2,1', '300,4,0', '1,2,0'].join('\n');

describe('cleaning', () => {
  it('drops each kind of bad row under its reason, keeps the first of duplicates, and says which lines', async () => {
    const path = file('dirty.csv', DIRTY);
    const { dataset, report } = await loadCsvCleaned(path, { label: 'label', classes: 2, range: [0, 255] });
    expect(report).toMatchObject({
      rows: 9,
      kept: 2,
      dropped: { malformed: 1, missing: 2, outOfRange: 1, badLabel: 1, duplicate: 2 },
      examples: { malformed: [6], missing: [4, 7], outOfRange: [9], badLabel: [5], duplicate: [3, 10] },
    });
    // each dropped row, in file order, with what was wrong with it
    expect(formatDrops(report)).toEqual([
      formatCleanReport(report),
      '  line  3  duplicate   same as line 2',
      '  line  4  missing     column "b" is empty or not a number',
      '  line  5  badLabel    label 7 is not a class index in 0..1',
      '  line  6  malformed   3 columns expected',
      '  line  7  missing     column "b" is empty or not a number',
      '  line  9  outOfRange  column "a" = 300 is outside [0, 255]',
      '  line 10  duplicate   same as line 2',
    ]);
    expect([...dataset.x]).toEqual([1, 2, 1, 2]);
    expect([...dataset.y]).toEqual([0, 1]); // same features, another label: not a duplicate
    expect(formatCleanReport(report)).toBe(
      'dropped 7 of 9 rows: 1 malformed (line 6), 2 missing (lines 4, 7), 1 outOfRange (line 9), 1 badLabel (line 5), 2 duplicate (lines 3, 10)',
    );
    // the strict loader still refuses the same file at its first bad row
    await expect(loadCsv(path, { label: 'label' })).rejects.toThrow(/dirty.csv:4: column "b" is not a finite number: ""/);
  });

  it('keeps everything a clean file holds, duplicates too when asked', () => {
    const c = new RowCleaner({ dropDuplicates: false });
    expect(c.offer(2, [1, 2], 0) && c.offer(3, [1, 2], 0)).toBe(true);
    expect(formatCleanReport(c.report())).toBe('kept all 2 rows');
  });

  it('fails clearly when nothing survives or the range is bad; a client reports what it dropped', async () => {
    await expect(loadCsvCleaned(file('allbad.csv', 'a,label\nx,0\n'), { label: 'label' })).rejects.toThrow(DataError);
    await expect(loadCsvCleaned(file('allbad2.csv', 'a,label\nx,0\n'), { label: 'label' })).rejects.toThrow(
      /cleaning dropped every row \(dropped 1 of 1 rows: 1 missing \(line 2\)\)/,
    );
    expect(parseRange('0, 255')).toEqual([0, 255]);
    for (const bad of ['5,1', '1', 'a,b', ',3']) expect(() => parseRange(bad)).toThrow(ConfigError);
    const lines: string[] = [];
    const view = await openDataSource({
      data: parseClientData(file('site.csv', DIRTY)),
      label: 'label',
      partition: { kind: 'iid' },
      seed: 1,
      clean: {},
      report: (l) => lines.push(l),
    });
    expect(view.dataset.size).toBe(4);
    expect(lines[0]).toMatch(/site.csv: dropped 5 of 9 rows/);
    await expect(openDataSource({ data: parseClientData('idx:a,b'), partition: { kind: 'iid' }, seed: 1, clean: {} })).rejects.toThrow(
      /--clean applies to CSV data/,
    );
    await expect(openDataSource({ data: { kind: 'mnist' }, partition: { kind: 'iid' }, seed: 1, clean: {} })).rejects.toThrow(/--clean applies to CSV data/);
  });
});
