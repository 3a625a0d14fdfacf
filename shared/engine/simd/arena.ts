import type { KernelExports } from './kernels.ts';

const ALIGN = 64;
const PAGE = 65536;

/**
 * A bump allocator over a kernel instance's linear memory: buffers are laid out
 * once per (model, batch size) and reused for every step. Views are rebuilt after
 * the memory grows (growth detaches the old ArrayBuffer).
 */
export class Arena {
  private readonly k: KernelExports;
  private readonly base: number;
  private top: number;

  constructor(k: KernelExports) {
    this.k = k;
    this.base = Math.ceil(k.heapBase() / ALIGN) * ALIGN;
    this.top = this.base;
  }

  /** Frees everything. */
  reset(): void {
    this.top = this.base;
  }

  /** Reserves `bytes` (64-byte aligned) and returns the byte offset. */
  alloc(bytes: number): number {
    const p = this.top;
    this.top = Math.ceil((p + bytes) / ALIGN) * ALIGN;
    const need = this.top - this.k.memory.buffer.byteLength;
    if (need > 0) this.k.memory.grow(Math.ceil(need / PAGE));
    return p;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, ptr, length);
  }

  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.k.memory.buffer, ptr, length);
  }

  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.k.memory.buffer, ptr, length);
  }

  get usedBytes(): number {
    return this.top - this.base;
  }
}
