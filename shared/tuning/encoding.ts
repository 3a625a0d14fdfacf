import { ConfigError, InvalidArgumentError } from '../errors.ts';
import type { Rng } from '../rng.ts';
import { type Assignment, type ParamSpec, type SearchSpace, assignmentKey, canonicalJson, isActive } from './space.ts';

/**
 * The unit-cube encoding the Gaussian process works in, and the prior every
 * sampler draws from (a uniform point of the cube, decoded).
 *
 * - float: one coordinate, linear in the value (or in its log when log: true).
 * - int: one coordinate; the cube is cut into one equal slice per integer
 *   (equal in log width on a log scale), so decoding rounds and a uniform u
 *   gives every integer its fair share, the end points included.
 * - choice: one-hot, one coordinate per value, so that every two values are
 *   the same distance apart (an index would invent an order and make the first
 *   and last values the least alike); decoding takes the largest coordinate.
 * - an inactive param sits at a fixed neutral point: 0.5, or 1/k on each of a
 *   choice's k coordinates.
 */

/** Where each param's coordinates start, and the cube's dimension. */
export function encodingOffsets(space: SearchSpace): { offsets: number[]; dims: number } {
  const offsets: number[] = [];
  let dims = 0;
  for (const p of space.params) {
    offsets.push(dims);
    dims += p.type === 'choice' ? p.values.length : 1;
  }
  return { offsets, dims };
}

/** The numeric scale the cube coordinate is linear in: [a, b] on the value or its log. */
function scale(p: ParamSpec & { type: 'float' | 'int' }): { a: number; b: number; log: boolean } {
  // an int owns [v - 0.5, v + 0.5] of the continuous line, so the ends get full slices
  const lo = p.type === 'int' ? p.low - 0.5 : p.low;
  const hi = p.type === 'int' ? p.high + 0.5 : p.high;
  return p.log ? { a: Math.log(lo), b: Math.log(hi), log: true } : { a: lo, b: hi, log: false };
}

/** The value of a numeric param at cube coordinate u (clipped to [0, 1]). */
export function numericFromUnit(p: ParamSpec & { type: 'float' | 'int' }, u: number): number {
  const { a, b, log } = scale(p);
  const t = a + Math.min(1, Math.max(0, u)) * (b - a);
  const v = log ? Math.exp(t) : t;
  return Math.min(p.high, Math.max(p.low, p.type === 'int' ? Math.round(v) : v));
}

/** The cube coordinate of a numeric param's value. */
export function numericToUnit(p: ParamSpec & { type: 'float' | 'int' }, v: number): number {
  const { a, b, log } = scale(p);
  return Math.min(1, Math.max(0, ((log ? Math.log(v) : v) - a) / (b - a)));
}

function misfit(assignment: Assignment, message: string): ConfigError {
  return new ConfigError(`assignment ${assignmentKey(assignment)} does not fit the search space: ${message}`);
}

/** The assignment as a point of the unit cube (see the module comment). */
export function encode(space: SearchSpace, assignment: Assignment): number[] {
  const { dims } = encodingOffsets(space);
  const x: number[] = [];
  x.length = dims;
  let at = 0;
  for (const p of space.params) {
    const active = isActive(p, assignment);
    if (active && !Object.hasOwn(assignment, p.name)) throw misfit(assignment, `active param ${p.name} has no value`);
    if (p.type === 'choice') {
      const k = p.values.length;
      if (!active) {
        for (let j = 0; j < k; j++) x[at + j] = 1 / k;
      } else {
        const key = canonicalJson(assignment[p.name]);
        const index = p.values.findIndex((v) => canonicalJson(v) === key);
        if (index < 0) throw misfit(assignment, `${p.name} is not one of its values`);
        for (let j = 0; j < k; j++) x[at + j] = j === index ? 1 : 0;
      }
      at += k;
    } else {
      const v = assignment[p.name];
      if (active && (typeof v !== 'number' || !(v >= p.low && v <= p.high) || (p.type === 'int' && !Number.isInteger(v)))) {
        throw misfit(assignment, `${p.name} must be ${p.type === 'int' ? 'an integer' : 'a number'} in [${p.low}, ${p.high}]`);
      }
      x[at++] = active ? numericToUnit(p, v as number) : 0.5;
    }
  }
  return x;
}

/** The assignment at a point of the cube: ints rounded, choices by their largest coordinate, only active params set. */
export function decode(space: SearchSpace, x: readonly number[]): Assignment {
  const { dims } = encodingOffsets(space);
  if (x.length !== dims) throw new InvalidArgumentError(`a point of this space has ${dims} coordinates, got ${x.length}`);
  const out: Assignment = {};
  let at = 0;
  for (const p of space.params) {
    const width = p.type === 'choice' ? p.values.length : 1;
    if (isActive(p, out)) {
      if (p.type === 'choice') {
        let best = 0;
        for (let j = 1; j < width; j++) if (x[at + j]! > x[at + best]!) best = j;
        out[p.name] = p.values[best];
      } else {
        out[p.name] = numericFromUnit(p, x[at]!);
      }
    }
    at += width;
  }
  return out;
}

/** A draw from the prior: each active param uniform on its (log) scale, each choice uniform over its values. */
export function sampleAssignment(space: SearchSpace, rng: Rng): Assignment {
  const out: Assignment = {};
  for (const p of space.params) {
    if (!isActive(p, out)) continue;
    out[p.name] = p.type === 'choice' ? p.values[Math.min(p.values.length - 1, Math.floor(rng() * p.values.length))] : numericFromUnit(p, rng());
  }
  return out;
}
