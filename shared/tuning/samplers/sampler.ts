import type { Assignment } from '../space.ts';
import { assignmentKey } from '../space.ts';

/** One finished trial: its assignment and its score (higher is better). */
export interface Observation {
  readonly assignment: Assignment;
  readonly score: number;
}

export interface Sampler {
  /**
   * The next assignment to try, or undefined when the method has nothing left
   * (a finished grid, an exhausted finite space). `pending` are assignments
   * being evaluated now (parallel trials): they are not proposed again.
   */
  next(history: readonly Observation[], pending: readonly Assignment[]): Assignment | undefined;
}

/** Keys of every assignment already tried or being tried. */
export function seenKeys(history: readonly Observation[], pending: readonly Assignment[]): Set<string> {
  const seen = new Set<string>();
  for (const o of history) seen.add(assignmentKey(o.assignment));
  for (const a of pending) seen.add(assignmentKey(a));
  return seen;
}
