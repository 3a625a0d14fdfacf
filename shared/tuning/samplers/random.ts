import { deriveSeed, mulberry32 } from '../../rng.ts';
import { sampleAssignment } from '../encoding.ts';
import { allValues, enumerateAssignments, MAX_LISTED_INTS, spaceSize } from '../enumerate.ts';
import { type Assignment, type SearchSpace, assignmentKey } from '../space.ts';
import { type Sampler, seenKeys } from './sampler.ts';

/** Fresh draws tried before a finite space is listed to find what is left. */
const ATTEMPTS = 64;
/** Finite spaces up to this size are listed when draws keep repeating. */
const MAX_LISTED = MAX_LISTED_INTS;

/**
 * One random proposal: a draw from the prior (uniform on each param's scale,
 * conditions respected) seeded by (seed, index) alone, so the same seed and the
 * same number of earlier trials give the same proposal, resumed or not. Never
 * one in `seen` while the space has others; undefined when a finite space has
 * none left.
 */
export function proposeRandom(space: SearchSpace, seed: number, index: number, seen: ReadonlySet<string>, size = spaceSize(space)): Assignment | undefined {
  const rng = mulberry32(deriveSeed(seed, index));
  let draw: Assignment = {};
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    draw = sampleAssignment(space, rng);
    if (!seen.has(assignmentKey(draw))) return draw;
  }
  if (size <= MAX_LISTED) {
    const left = [...enumerateAssignments(space, (p) => allValues(p)!)].filter((a) => !seen.has(assignmentKey(a)));
    return left.length ? left[Math.floor(rng() * left.length)] : undefined;
  }
  return draw; // a huge or continuous space repeating 64 times: not worth avoiding
}

/** Random search: independent seeded draws from the prior, without repeats. */
export function randomSampler(space: SearchSpace, seed: number): Sampler {
  const size = spaceSize(space);
  return {
    next(history, pending) {
      return proposeRandom(space, seed, history.length + pending.length, seenKeys(history, pending), size);
    },
  };
}
