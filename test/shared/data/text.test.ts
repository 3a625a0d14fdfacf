import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataSource, parseClientData } from '../../../client/data-source.ts';
import { parseDataSpec, parseRunData } from '../../../shared/data/source.ts';
import { loadData } from '../../../shared/data/run-data.ts';
import { charToken, tokenChar } from '../../../shared/data/text.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('text data', () => {
  it('parses text:<window>:<path> and refuses a bad window with the form to use', () => {
    expect(parseDataSpec('text:16:a:b.txt')).toEqual({ kind: 'text', window: 16, path: 'a:b.txt' });
    expect(() => parseDataSpec('text:0:x.txt')).toThrow(/window of 1\.\.4096/);
    expect(() => parseDataSpec('text:x.txt')).toThrow(/text:<window>:<path>/);
  });

  it('maps characters through the fixed vocabulary and back', () => {
    for (const ch of ['a', 'Z', ' ', '~', '\n']) expect(tokenChar(charToken(ch.charCodeAt(0)))).toBe(ch);
    expect(charToken('é'.charCodeAt(0))).toBe(0);
  });

  it('splits a file into train (first nine tenths) and test (last tenth) with no shared window', async () => {
    const file = join(dir, 'corpus.txt');
    writeFileSync(file, 'abcdefghij'.repeat(20));
    const text = (path: string, validation = 0) => loadData({ source: parseRunData(`text:5:${path}`), validation }, 2, 1);
    const { train, test } = await text(file);
    expect(train.size).toBe(180 - 5);
    expect(test.size).toBe(20 - 5);
    expect(train.features).toBe(5);
    await expect(text(join(dir, 'missing.txt'))).rejects.toThrow(/cannot read text file .*missing\.txt: ENOENT/);
    writeFileSync(join(dir, 'short.txt'), 'abcdefgh');
    await expect(text(join(dir, 'short.txt'))).rejects.toThrow(/too short/);
    await expect(text(file, 0.1)).rejects.toThrow(/validation/);
  });

  it('a client reads its own text file whole, and names a missing one', async () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'hello world, hello starling\n');
    const view = await openDataSource({ data: parseClientData(`text:4:${file}`), partition: { kind: 'iid' }, seed: 1 });
    expect(view.dataset.size).toBe(28 - 4);
    await expect(openDataSource({ data: parseClientData(`text:4:${join(dir, 'nope.txt')}`), partition: { kind: 'iid' }, seed: 1 })).rejects.toThrow(
      /cannot read text file .*nope\.txt/,
    );
    await expect(openDataSource({ data: parseClientData(`text:4:${file}`), shard: '1/2', partition: { kind: 'iid' }, seed: 1 })).rejects.toThrow(
      /do not apply to text data/,
    );
  });
});
