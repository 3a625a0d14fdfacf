import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataSource, parseClientData } from '../../../client/data-source.ts';
import { encodeIdx, loadIdx } from '../../../shared/data/idx.ts';
import { loadMnist } from '../../../shared/data/mnist.ts';
import { DataError } from '../../../shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

describe('IDX loader', () => {
  it('round-trips real MNIST digits written as IDX ubyte files (scaled to [0, 1])', async () => {
    const { test } = loadMnist();
    const n = 300;
    const pixels = Array.from(test.x.subarray(0, n * 784), (v) => Math.round(v * 255));
    const images = file('images-idx3-ubyte', encodeIdx('ubyte', [n, 28, 28], pixels));
    const labels = file('labels-idx1-ubyte', encodeIdx('ubyte', [n], test.y.subarray(0, n)));
    const ds = await loadIdx(images, labels);
    expect(ds.size).toBe(n);
    expect(ds.features).toBe(784);
    expect(ds.classes).toBe(10);
    expect([...ds.y]).toEqual([...test.y.subarray(0, n)]);
    for (let i = 0; i < n * 784; i += 97) expect(ds.x[i]).toBeCloseTo(pixels[i]! / 255, 6);
    const viaClient = await openDataSource({ data: parseClientData(`idx:${images},${labels}`), partition: { kind: 'iid' }, seed: 1 });
    expect(viaClient.dataset.size).toBe(n);
  });

  it('takes float images as they are, streaming more rows than one chunk holds', async () => {
    const rows = 5000;
    const values = Float32Array.from({ length: rows * 60 }, (_, i) => (i % 13) - 6.5);
    const ds = await loadIdx(
      file('f.idx', encodeIdx('float', [rows, 60], values)),
      file(
        'fl.idx',
        encodeIdx(
          'ubyte',
          [rows],
          Array.from({ length: rows }, (_, i) => i % 3),
        ),
      ),
    );
    expect(ds.features).toBe(60);
    expect(ds.x[rows * 60 - 1]).toBe(values[rows * 60 - 1]);
    expect(ds.classes).toBe(3);
  });

  it('reports each broken file precisely', async () => {
    const img = encodeIdx(
      'ubyte',
      [4, 2, 2],
      Array.from({ length: 16 }, (_, i) => i),
    );
    const lab = file('l4', encodeIdx('ubyte', [4], [0, 1, 2, 1]));
    const good = file('i4', img);
    await expect(loadIdx(join(dir, 'missing'), lab)).rejects.toThrow(/data file .*missing does not exist/);
    await expect(loadIdx(file('text', new TextEncoder().encode('label,a\n1,2\n')), lab)).rejects.toThrow(/is not an IDX file/);
    const badType = img.slice();
    badType[2] = 0x07;
    await expect(loadIdx(file('type', badType), lab)).rejects.toThrow(/unknown IDX value type 0x07/);
    await expect(loadIdx(file('trunc', img.subarray(0, img.length - 3)), lab)).rejects.toThrow(
      /trunc is truncated: its header \(4×2×2 ubyte\) promises 32 bytes, the file has 29/,
    );
    const huge = img.slice(0, 16);
    new DataView(huge.buffer).setUint32(4, 0xffffffff);
    await expect(loadIdx(file('huge', huge), lab)).rejects.toThrow(/promises 17179869196 bytes, the file has 16/);
    await expect(loadIdx(file('extra', Uint8Array.from([...img, 9, 9])), lab)).rejects.toThrow(/2 bytes after the last value/);
    await expect(loadIdx(good, file('l3', encodeIdx('ubyte', [3], [0, 1, 2])))).rejects.toThrow(/holds 3 labels, but .* holds 4 examples/);
    await expect(loadIdx(good, file('l2d', encodeIdx('ubyte', [2, 2], [0, 1, 2, 1])))).rejects.toThrow(/one dimension, this one has 2/);
    await expect(loadIdx(good, lab, { classes: 2 })).rejects.toThrow(/label 2 of example 2 is not a class index in 0..1/);
    await expect(loadIdx(good, lab, { features: 784 })).rejects.toThrow(/2×2 = 4 values, but the model expects 784/);
    await expect(loadIdx(good, lab)).resolves.toMatchObject({ size: 4, features: 4, classes: 3 });
    expect(() => parseClientData('idx:onlyone')).toThrow(/--data: idx:<images>,<labels> needs two paths/);
    await expect(loadIdx(join(dir, 'missing'), lab)).rejects.toBeInstanceOf(DataError);
  });
});
