import { InvalidArgumentError } from './errors.ts';
/**
 * Seeded pseudo-random numbers. Every random choice in Starling (initialisation,
 * shuffling, partitioning, client sampling) draws from these, so a seed fixes
 * the run. Not for cryptography: keys and nonces come from node:crypto.
 */

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: a small, fast 32-bit generator (the one the Flower reference workload in bench/round-bench.ts seeds). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Derives an independent 32-bit seed from a base seed and a path of integers
 * (e.g. round, client index), so that streams for different purposes never overlap.
 */
export function deriveSeed(seed: number, ...path: number[]): number {
  let h = fmix32((seed ^ 0x9e3779b9) >>> 0);
  for (const p of path) h = fmix32((h ^ fmix32(((p >>> 0) + 0x7f4a7c15) >>> 0)) >>> 0);
  return h;
}

/** murmur3's 32-bit finaliser: a bijective mix in which every input bit affects every output bit. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fisher–Yates shuffle, in place, walking from the end (j uniform in [0, i]). */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(arr: T, rng: Rng): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = arr[i];
    arr[i] = arr[j];
    arr[j] = tmp;
  }
  return arr;
}

/** The identity permutation 0..n-1 shuffled with `rng`. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, rng);
}

/** Standard normal sample (Box–Muller). */
export function normal(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gamma(shape, 1) sample (Marsaglia–Tsang; boosted for shape < 1). */
export function gamma(shape: number, rng: Rng): number {
  if (!(shape > 0)) throw new InvalidArgumentError(`gamma shape must be > 0, got ${shape}`);
  if (shape < 1) {
    const u = rng();
    return gamma(shape + 1, rng) * (u === 0 ? Number.MIN_VALUE : u) ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A sample from the symmetric Dirichlet(alpha) distribution over k categories. */
export function dirichlet(alpha: number, k: number, rng: Rng): Float64Array {
  const out = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const g = gamma(alpha, rng);
    out[i] = g;
    sum += g;
  }
  if (sum === 0) {
    // every draw underflowed (tiny alpha): put all mass on one category
    out[Math.floor(rng() * k)] = 1;
    return out;
  }
  for (let i = 0; i < k; i++) out[i]! /= sum;
  return out;
}
