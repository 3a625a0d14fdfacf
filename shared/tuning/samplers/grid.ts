import { checkGridPoints, countAssignments, enumerateAssignments, gridValues } from '../enumerate.ts';
import { type SearchSpace, assignmentKey } from '../space.ts';
import { type Sampler, seenKeys } from './sampler.ts';

/**
 * Grid search: the Cartesian product of every param's grid values over the
 * active combinations (a conditional param expands only under the values that
 * activate it), in a fixed order with the first param varying slowest.
 * Continuous params get `gridPoints` evenly spaced values (log-spaced on a log
 * scale), ints the same rounded and de-duplicated, choices all their values.
 */
export const DEFAULT_GRID_POINTS = 3;

/** How many assignments the grid holds. */
export function gridSize(space: SearchSpace, gridPoints = DEFAULT_GRID_POINTS): number {
  const points = checkGridPoints(gridPoints);
  return countAssignments(space, (p) => gridValues(p, points));
}

/**
 * Proposes the first grid assignment neither tried nor pending, so a fresh
 * sampler given a run's history resumes where it stopped; undefined once the
 * grid is done.
 */
export function gridSampler(space: SearchSpace, gridPoints = DEFAULT_GRID_POINTS): Sampler {
  const points = checkGridPoints(gridPoints);
  return {
    next(history, pending) {
      const seen = seenKeys(history, pending);
      for (const a of enumerateAssignments(space, (p) => gridValues(p, points))) if (!seen.has(assignmentKey(a))) return a;
      return undefined;
    },
  };
}
