import { ConfigError, InvalidArgumentError } from './errors.ts';
import { paramShapes } from './models/registry.ts';
import type { ModelSpec } from './models/spec.ts';
import { sizeOf, type ParamShape } from './weights.ts';

/**
 * Freezing, for transfer learning. A frozen name matches a parameter when it equals
 * the parameter's name or is a prefix of it followed by '/': `dense0` freezes
 * `dense0/kernel` and `dense0/bias`; for nested names such as
 * `block0/attn/query/kernel`, `block0` and `block0/attn` each freeze a group.
 *
 * The trainable parameters, concatenated in flat order, are what travels from the
 * clients and what strategies aggregate; `gatherTrainable` and `scatterTrainable`
 * move between that vector and the full flat weights.
 */
export function matchesName(frozen: string, param: string): boolean {
  return param === frozen || param.startsWith(`${frozen}/`);
}

/** Every name a freeze list may use for these parameters: each parameter and each of its '/'-prefixes, in flat order. */
export function layerNames(shapes: readonly ParamShape[]): string[] {
  const names = new Set<string>();
  for (const p of shapes) {
    const parts = p.name.split('/');
    for (let i = 1; i <= parts.length; i++) names.add(parts.slice(0, i).join('/'));
  }
  return [...names];
}

/** A contiguous run of trainable values in the flat layout. */
export interface Segment {
  readonly offset: number;
  readonly length: number;
}

export interface TrainableLayout {
  /** Per parameter (paramShapes order): true when it trains. */
  readonly trainable: readonly boolean[];
  /** Trainable runs of the flat weights, adjacent parameters merged, in order. */
  readonly segments: readonly Segment[];
  readonly trainableCount: number;
  readonly totalCount: number;
  /** True when nothing is frozen (the trainable vector is the full weights). */
  readonly all: boolean;
}

/**
 * The layout for `spec` with the parameters `frozen` names. An unknown name, or a
 * list that freezes every parameter, is a ConfigError.
 */
export function trainableLayout(spec: ModelSpec, frozen: readonly string[]): TrainableLayout {
  return layoutOf(paramShapes(spec), frozen);
}

export function layoutOf(shapes: readonly ParamShape[], frozen: readonly string[]): TrainableLayout {
  const valid = layerNames(shapes);
  const unknown = frozen.filter((f) => !valid.includes(f));
  if (unknown.length) {
    throw new ConfigError(`freeze: unknown layer ${unknown.map((u) => `"${u}"`).join(', ')} (this model has: ${valid.join(', ')})`);
  }
  const trainable = shapes.map((p) => !frozen.some((f) => matchesName(f, p.name)));
  if (shapes.length > 0 && !trainable.some(Boolean)) throw new ConfigError(`freeze: ${frozen.join(', ')} freezes every parameter; nothing would train`);
  const segments: Segment[] = [];
  let offset = 0;
  let trainableCount = 0;
  for (const [i, p] of shapes.entries()) {
    const size = sizeOf(p.shape);
    if (trainable[i]) {
      const last = segments.at(-1);
      if (last && last.offset + last.length === offset) segments[segments.length - 1] = { offset: last.offset, length: last.length + size };
      else segments.push({ offset, length: size });
      trainableCount += size;
    }
    offset += size;
  }
  return { trainable, segments, trainableCount, totalCount: offset, all: trainableCount === offset };
}

/** The trainable values of `full`, concatenated in flat order (a new array). */
export function gatherTrainable(full: Float32Array, layout: TrainableLayout): Float32Array {
  if (full.length !== layout.totalCount) throw new InvalidArgumentError(`gatherTrainable: got ${full.length} values, the model has ${layout.totalCount}`);
  const out = new Float32Array(layout.trainableCount);
  let at = 0;
  for (const s of layout.segments) {
    out.set(full.subarray(s.offset, s.offset + s.length), at);
    at += s.length;
  }
  return out;
}

/** A copy of `base` with its trainable values replaced by `trainable` (frozen values kept byte for byte). */
export function scatterTrainable(trainable: Float32Array, base: Float32Array, layout: TrainableLayout): Float32Array {
  if (base.length !== layout.totalCount) throw new InvalidArgumentError(`scatterTrainable: base has ${base.length} values, the model has ${layout.totalCount}`);
  if (trainable.length !== layout.trainableCount) {
    throw new InvalidArgumentError(`scatterTrainable: got ${trainable.length} trainable values, the model has ${layout.trainableCount}`);
  }
  const out = base.slice();
  let at = 0;
  for (const s of layout.segments) {
    out.set(trainable.subarray(at, at + s.length), s.offset);
    at += s.length;
  }
  return out;
}
