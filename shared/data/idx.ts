import { existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { DataError } from '../errors.ts';
import { MAX_CLASSES, type Dataset } from './dataset.ts';

/**
 * The IDX format of the original MNIST files: two zero bytes, a type byte, a
 * dimension count, the big-endian uint32 dimensions, then the values big-endian in
 * row-major order.
 */
const TYPES: Record<number, { name: string; bytes: number; read: (v: DataView, at: number) => number }> = {
  8: { name: 'ubyte', bytes: 1, read: (v, at) => v.getUint8(at) },
  9: { name: 'byte', bytes: 1, read: (v, at) => v.getInt8(at) },
  11: { name: 'short', bytes: 2, read: (v, at) => v.getInt16(at) },
  12: { name: 'int', bytes: 4, read: (v, at) => v.getInt32(at) },
  13: { name: 'float', bytes: 4, read: (v, at) => v.getFloat32(at) },
  14: { name: 'double', bytes: 8, read: (v, at) => v.getFloat64(at) },
};

interface IdxHeader {
  readonly type: number;
  readonly dims: number[];
  readonly headerBytes: number;
}

const CHUNK_ROWS_BYTES = 1 << 20;

async function readExactly(fh: FileHandle, path: string, bytes: number, at: number, what: string): Promise<Uint8Array> {
  const buf = new Uint8Array(bytes);
  const { bytesRead } = await fh.read(buf, 0, bytes, at);
  if (bytesRead < bytes) throw new DataError(`${path}: file ends at byte ${at + bytesRead}, inside the ${what} (expected ${bytes} bytes from byte ${at})`);
  return buf;
}

async function readHeader(fh: FileHandle, path: string): Promise<IdxHeader> {
  const magic = await readExactly(fh, path, 4, 0, 'IDX magic number');
  if (magic[0] !== 0 || magic[1] !== 0) throw new DataError(`${path} is not an IDX file (the magic number must start with two zero bytes)`);
  const type = magic[2]!;
  if (!TYPES[type]) throw new DataError(`${path}: unknown IDX value type 0x${type.toString(16).padStart(2, '0')}`);
  const rank = magic[3]!;
  if (rank < 1) throw new DataError(`${path}: an IDX file needs at least one dimension`);
  const raw = await readExactly(fh, path, 4 * rank, 4, 'IDX dimensions');
  const view = new DataView(raw.buffer);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 * i));
  return { type, dims, headerBytes: 4 + 4 * rank };
}

/** Streams an IDX file's values into `onRow`, one first-dimension row at a time, in bounded chunks. */
async function streamIdx(path: string, onHeader: (h: IdxHeader) => void, onRow: (row: number, values: Float64Array) => void): Promise<IdxHeader> {
  if (!existsSync(path)) throw new DataError(`data file ${path} does not exist`);
  const fh = await open(path, 'r');
  try {
    const h = await readHeader(fh, path);
    const t = TYPES[h.type]!;
    const rowValues = h.dims.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = rowValues * t.bytes;
    // check the size before allocating, so a corrupt header cannot ask for gigabytes
    const promised = h.headerBytes + h.dims[0]! * rowBytes;
    const { size } = await fh.stat();
    if (size < promised)
      throw new DataError(`${path} is truncated: its header (${h.dims.join('×')} ${t.name}) promises ${promised} bytes, the file has ${size}`);
    if (size > promised) throw new DataError(`${path}: ${size - promised} bytes after the last value (its header promises ${promised} bytes in all)`);
    onHeader(h);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ROWS_BYTES / Math.max(1, rowBytes)));
    const values = new Float64Array(rowValues);
    let at = h.headerBytes;
    for (let row = 0; row < h.dims[0]!; row += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, h.dims[0]! - row);
      const chunk = await readExactly(fh, path, rows * rowBytes, at, `values of rows ${row}..${row + rows - 1}`);
      const view = new DataView(chunk.buffer);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < rowValues; k++) values[k] = t.read(view, (r * rowValues + k) * t.bytes);
        onRow(row + r, values);
      }
      at += rows * rowBytes;
    }
    return h;
  } finally {
    await fh.close();
  }
}

export interface IdxOptions {
  /** Number of classes; a label outside 0..classes-1 is an error. Default: the largest label + 1 (≤ 256). */
  readonly classes?: number;
  /** Expected features per example (the model's input size). */
  readonly features?: number;
}

/**
 * Loads an IDX images file and its IDX labels file (the original MNIST/Fashion-MNIST
 * layout) into a Dataset, streaming both in bounded chunks. Unsigned-byte images are
 * scaled to [0, 1] like the embedded digits; other types are taken as they are. Every
 * inconsistency fails with the file and the byte or row where it shows.
 */
export async function loadIdx(imagesPath: string, labelsPath: string, opts: IdxOptions = {}): Promise<Dataset> {
  let x: Float32Array = new Float32Array(0);
  let features = 0;
  let scale = 1;
  const images = await streamIdx(
    imagesPath,
    (h) => {
      features = h.dims.slice(1).reduce((a, b) => a * b, 1);
      if (opts.features !== undefined && features !== opts.features) {
        throw new DataError(`${imagesPath}: examples of ${h.dims.slice(1).join('×')} = ${features} values, but the model expects ${opts.features}`);
      }
      scale = h.type === 0x08 ? 1 / 255 : 1;
      x = new Float32Array(new SharedArrayBuffer(h.dims[0]! * features * 4));
    },
    (row, values) => {
      for (let k = 0; k < features; k++) {
        const v = values[k]! * scale;
        if (!Number.isFinite(v)) throw new DataError(`${imagesPath}: example ${row} holds a value that is not finite`);
        x[row * features + k] = v;
      }
    },
  );
  const maxClasses = opts.classes ?? MAX_CLASSES;
  let y: Uint8Array = new Uint8Array(0);
  let top = 0;
  await streamIdx(
    labelsPath,
    (h) => {
      if (h.dims.length !== 1) throw new DataError(`${labelsPath}: a labels file has one dimension, this one has ${h.dims.length} (${h.dims.join('×')})`);
      if (h.dims[0] !== images.dims[0]) throw new DataError(`${labelsPath} holds ${h.dims[0]} labels, but ${imagesPath} holds ${images.dims[0]} examples`);
      y = new Uint8Array(new SharedArrayBuffer(h.dims[0]!));
    },
    (row, values) => {
      const v = values[0]!;
      if (!Number.isInteger(v) || v < 0 || v >= maxClasses)
        throw new DataError(`${labelsPath}: label ${v} of example ${row} is not a class index in 0..${maxClasses - 1}`);
      y[row] = v;
      if (v > top) top = v;
    },
  );
  if (images.dims[0] === 0) throw new DataError(`${imagesPath} holds no examples`);
  return { x, y, size: images.dims[0]!, features, classes: opts.classes ?? top + 1 };
}

/** Encodes values as an IDX file (for tests and for exporting data Starling prepared). */
export function encodeIdx(type: 'ubyte' | 'float', dims: readonly number[], values: ArrayLike<number>): Uint8Array {
  const code = type === 'ubyte' ? 0x08 : 0x0d;
  const bytes = TYPES[code]!.bytes;
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + values.length * bytes);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d);
  for (let i = 0; i < values.length; i++) {
    if (code === 0x08) view.setUint8(header + i, values[i]!);
    else view.setFloat32(header + 4 * i, values[i]!);
  }
  return out;
}
