import { cnnInit, cnnShapes } from './models/cnn.ts';
import { ganInit, ganShapes } from './models/gan.ts';
import { mlpInit, mlpShapes } from './models/mlp.ts';
import { rnnInit, rnnShapes } from './models/rnn.ts';
import { transformerInit, transformerShapes } from './models/transformer.ts';
import type { ModelSpec } from './models/spec.ts';

/**
 * Weights travel and aggregate as ONE flat Float32Array: the parameters of the
 * model in a fixed order (see each model's *Shapes function), concatenated.
 * Aggregation code never sees tensors.
 */
export interface ParamShape {
  readonly name: string;
  readonly shape: readonly number[];
}

export function paramShapes(spec: ModelSpec): ParamShape[] {
  switch (spec.type) {
    case 'mlp':
      return mlpShapes(spec);
    case 'cnn':
      return cnnShapes(spec);
    case 'rnn':
      return rnnShapes(spec);
    case 'transformer':
      return transformerShapes(spec);
    case 'gan':
      return ganShapes(spec);
  }
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Total parameter count of a spec. */
export function paramCount(spec: ModelSpec): number {
  return paramShapes(spec).reduce((n, p) => n + sizeOf(p.shape), 0);
}

/** Seeded initial weights: the same spec and seed give the same bytes on every machine. */
export function initWeights(spec: ModelSpec, seed: number): Float32Array {
  const out = new Float32Array(paramCount(spec));
  switch (spec.type) {
    case 'mlp':
      mlpInit(spec, seed, out);
      break;
    case 'cnn':
      cnnInit(spec, seed, out);
      break;
    case 'rnn':
      rnnInit(spec, seed, out);
      break;
    case 'transformer':
      transformerInit(spec, seed, out);
      break;
    case 'gan':
      ganInit(spec, seed, out);
  }
  return out;
}

/** Concatenates per-parameter arrays (in `shapes` order) into one flat array. */
export function flatten(parts: readonly Float32Array[], shapes: readonly ParamShape[]): Float32Array {
  if (parts.length !== shapes.length) throw new RangeError(`flatten: got ${parts.length} arrays for ${shapes.length} parameters`);
  const total = shapes.reduce((n, p) => n + sizeOf(p.shape), 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const [i, p] of shapes.entries()) {
    const part = parts[i]!;
    const size = sizeOf(p.shape);
    if (part.length !== size) throw new RangeError(`flatten: ${p.name} has ${part.length} values, expected ${size}`);
    out.set(part, offset);
    offset += size;
  }
  return out;
}

/** Splits a flat array into per-parameter views (no copy), in `shapes` order. */
export function unflatten(flat: Float32Array, shapes: readonly ParamShape[]): Float32Array[] {
  const total = shapes.reduce((n, p) => n + sizeOf(p.shape), 0);
  if (flat.length !== total) throw new RangeError(`unflatten: got ${flat.length} values, the model has ${total}`);
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
  if (local.length !== global.length) throw new RangeError(`subtract: lengths ${local.length} and ${global.length} differ`);
  const out = new Float32Array(local.length);
  for (let i = 0; i < out.length; i++) out[i] = local[i]! - global[i]!;
  return out;
}

/** global + delta, as a new array. */
export function add(global: Float32Array, delta: Float32Array): Float32Array {
  if (delta.length !== global.length) throw new RangeError(`add: lengths ${global.length} and ${delta.length} differ`);
  const out = new Float32Array(global.length);
  for (let i = 0; i < out.length; i++) out[i] = global[i]! + delta[i]!;
  return out;
}

/** True when every value is finite (no NaN, no ±Inf). */
export function allFinite(a: Float32Array): boolean {
  return firstNonFinite(a) < 0;
}

/** The index of the first NaN or ±Infinity in `v`, or −1 when every value is finite. */
export function firstNonFinite(v: Float32Array | Float64Array): number {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return i;
  return -1;
}
