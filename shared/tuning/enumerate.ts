import { ConfigError } from '../errors.ts';
import { type Assignment, type ParamSpec, type SearchSpace, isActive } from './space.ts';

/**
 * Walking every combination of a space whose params each take a finite list of
 * values (a grid, or a space with no floats). Conditional params expand only
 * under the values that activate them; the first param varies slowest.
 */
export type ValuesOf = (p: ParamSpec) => readonly unknown[];

/** Every assignment, in order: params in declaration order, each param's values in their listed order. */
export function* enumerateAssignments(space: SearchSpace, valuesOf: ValuesOf): Generator<Assignment> {
  const lists = space.params.map(valuesOf);
  function* walk(i: number, partial: Assignment): Generator<Assignment> {
    if (i === space.params.length) {
      yield { ...partial };
      return;
    }
    const p = space.params[i]!;
    if (!isActive(p, partial)) {
      yield* walk(i + 1, partial);
      return;
    }
    for (const v of lists[i]!) {
      partial[p.name] = v;
      yield* walk(i + 1, partial);
    }
    delete partial[p.name];
  }
  yield* walk(0, {});
}

/**
 * How many assignments `enumerateAssignments` yields, without listing them: the
 * count of completions from param i depends only on the values of the params
 * that later conditions name, so it is memoised on those.
 */
export function countAssignments(space: SearchSpace, valuesOf: ValuesOf): number {
  const n = space.params.length;
  const lists = space.params.map(valuesOf);
  // needed[i]: names that the conditions of params i.. refer to
  const needed: string[][] = [];
  const acc = new Set<string>();
  for (let i = n; i >= 0; i--) {
    needed[i] = [...acc].sort();
    const p = space.params[i - 1];
    for (const ref of Object.keys(p?.when ?? {})) acc.add(ref);
  }
  const memo = new Map<string, number>();
  const count = (i: number, partial: Assignment): number => {
    if (i === n) return 1;
    const key = `${i}:${JSON.stringify(needed[i]!.map((r) => (Object.hasOwn(partial, r) ? [partial[r]] : [])))}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const p = space.params[i]!;
    let total = 0;
    if (!isActive(p, partial)) total = count(i + 1, partial);
    else if (!needed[i + 1]!.includes(p.name))
      total = lists[i]!.length * count(i + 1, partial); // no later condition reads it
    else {
      for (const v of lists[i]!) {
        partial[p.name] = v;
        total += count(i + 1, partial);
      }
      delete partial[p.name];
    }
    memo.set(key, total);
    return total;
  };
  return count(0, {});
}

/** `points` values evenly spaced over a numeric param's range (log-spaced on a log scale); ints rounded and de-duplicated. */
export function gridValues(p: ParamSpec, points: number): readonly unknown[] {
  if (p.type === 'choice') return p.values;
  const out: number[] = [];
  const a = p.log ? Math.log(p.low) : p.low;
  const b = p.log ? Math.log(p.high) : p.high;
  for (let i = 0; i < points; i++) {
    const t = points === 1 ? 0.5 : i / (points - 1);
    let v = a + t * (b - a);
    if (p.log) v = Math.exp(v);
    // the ends exactly, whatever the rounding of exp(log(x))
    if (i === 0 && points > 1) v = p.low;
    if (i === points - 1 && points > 1) v = p.high;
    if (p.type === 'int') v = Math.round(v);
    v = Math.min(p.high, Math.max(p.low, v));
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/** Above this many integers, an int range counts as unlistable, like a float. */
export const MAX_LISTED_INTS = 100_000;

/** Every value of a param, or undefined for a float (infinitely many) or an int range too long to list. */
export function allValues(p: ParamSpec): readonly unknown[] | undefined {
  if (p.type === 'choice') return p.values;
  if (p.type === 'float' || p.high - p.low + 1 > MAX_LISTED_INTS) return undefined;
  return Array.from({ length: p.high - p.low + 1 }, (_, i) => p.low + i);
}

/** The number of distinct assignments of a space whose every param can be listed, or Infinity. */
export function spaceSize(space: SearchSpace): number {
  if (space.params.some((p) => allValues(p) === undefined)) return Infinity;
  return countAssignments(space, (p) => allValues(p)!);
}

/** Checks a gridPoints option. */
export function checkGridPoints(points: number): number {
  if (!Number.isInteger(points) || points < 1) throw new ConfigError(`gridPoints must be a whole number of at least 1 (got ${points})`);
  return points;
}
