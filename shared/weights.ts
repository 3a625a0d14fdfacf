import { InvalidArgumentError } from './errors.ts';
/**
 * Flat weights: a model's parameters travel and aggregate as ONE Float32Array,
 * concatenated in a fixed order (the layout; a model's comes from the registry,
 * shared/models/registry.ts). Aggregation code never sees tensors.
 */
export interface ParamShape {
  readonly name: string;
  readonly shape: readonly number[];
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Values in a layout: its parameters' sizes summed. */
export function layoutSize(shapes: readonly ParamShape[]): number {
  return shapes.reduce((n, p) => n + sizeOf(p.shape), 0);
}

/** Concatenates per-parameter arrays (in `shapes` order) into one flat array. */
export function flatten(parts: readonly Float32Array[], shapes: readonly ParamShape[]): Float32Array {
  if (parts.length !== shapes.length) throw new InvalidArgumentError(`flatten: got ${parts.length} arrays for ${shapes.length} parameters`);
  const out = new Float32Array(layoutSize(shapes));
  let offset = 0;
  for (const [i, p] of shapes.entries()) {
    const part = parts[i]!;
    const size = sizeOf(p.shape);
    if (part.length !== size) throw new InvalidArgumentError(`flatten: ${p.name} has ${part.length} values, expected ${size}`);
    out.set(part, offset);
    offset += size;
  }
  return out;
}

/** Splits a flat array into per-parameter views (no copy), in `shapes` order. */
export function unflatten(flat: Float32Array, shapes: readonly ParamShape[]): Float32Array[] {
  const total = layoutSize(shapes);
  if (flat.length !== total) throw new InvalidArgumentError(`unflatten: got ${flat.length} values, the model has ${total}`);
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const p of shapes) {
    const size = sizeOf(p.shape);
    parts.push(flat.subarray(offset, offset + size));
    offset += size;
  }
  return parts;
}

/** local − global, as a new array. */
export function subtract(local: Float32Array, global: Float32Array): Float32Array {
  if (local.length !== global.length) throw new InvalidArgumentError(`subtract: lengths ${local.length} and ${global.length} differ`);
  const out = new Float32Array(local.length);
  for (let i = 0; i < out.length; i++) out[i] = local[i]! - global[i]!;
  return out;
}

/** global + delta, as a new array. */
export function add(global: Float32Array, delta: Float32Array): Float32Array {
  if (delta.length !== global.length) throw new InvalidArgumentError(`add: lengths ${global.length} and ${delta.length} differ`);
  const out = new Float32Array(global.length);
  for (let i = 0; i < out.length; i++) out[i] = global[i]! + delta[i]!;
  return out;
}

/** Whether two weight vectors hold the same bytes (one memcmp). */
export function sameWeights(a: Float32Array, b: Float32Array): boolean {
  return a === b || Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** True when every value is finite (no NaN, no ±Inf). */
export function allFinite(a: Float32Array): boolean {
  return firstNonFinite(a) < 0;
}

/** The index of the first NaN or ±Infinity in `v`, or −1 when every value is finite. */
export function firstNonFinite(v: Float32Array | Float64Array): number {
  if (v instanceof Float32Array) {
    // all exponent bits set is ±Infinity or NaN: one integer test on the raw bits (every result is checked, on the coordinator's thread)
    const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
    for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0x7f800000) === 0x7f800000) return i;
    return -1;
  }
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return i;
  return -1;
}
