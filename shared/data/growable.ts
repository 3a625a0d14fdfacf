import { DataError } from '../errors.ts';

/** The most values a file read into memory may hold (1 GiB of float32): past it, a precise error rather than an exhausted heap. */
export const MAX_FILE_VALUES = 2 ** 28;

/**
 * A Float32Array that grows as values are appended (doubling), for reading a file of unknown
 * length: 4 bytes a value instead of a JS array's 8 or more, and a DataError naming `what` past
 * `max` values instead of a fatal out-of-memory.
 */
export class GrowableFloat32 {
  private data = new Float32Array(4096);
  length = 0;

  constructor(
    private readonly what: string,
    private readonly max = MAX_FILE_VALUES,
  ) {}

  push(value: number): void {
    if (this.length === this.data.length) this.grow();
    this.data[this.length++] = value;
  }

  /** Values start..end (a view, valid until the next push). */
  view(start: number, end: number): Float32Array {
    return this.data.subarray(start, end);
  }

  /** The values, copied to an array of their exact length. */
  toArray(): Float32Array {
    return this.data.slice(0, this.length);
  }

  private grow(): void {
    if (this.length >= this.max) throw new DataError(`${this.what} holds more than ${this.max} values; split it into smaller files`);
    const next = new Float32Array(Math.min(this.max, this.data.length * 2));
    next.set(this.data);
    this.data = next;
  }
}
