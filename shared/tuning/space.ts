import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/**
 * The search space of a tuning run: a list of params, each a float, an int or a
 * choice, optionally conditional on earlier params (`when`). Validation reports
 * every bad entry with its path, like the run config does.
 */

/** Allowed values of earlier params, keyed by their names: the param is active only when all match. */
export type Condition = Readonly<Record<string, readonly unknown[]>>;

interface ParamBase {
  readonly name: string;
  /** Dotted path into the run config the value is written to (defaults to name). */
  readonly path: string;
  readonly when?: Condition;
}
export interface FloatParam extends ParamBase {
  readonly type: 'float';
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
}
export interface IntParam extends ParamBase {
  readonly type: 'int';
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
}
export interface ChoiceParam extends ParamBase {
  readonly type: 'choice';
  readonly values: readonly unknown[];
}
export type ParamSpec = FloatParam | IntParam | ChoiceParam;
export interface SearchSpace {
  readonly params: readonly ParamSpec[];
}
/** Values of the active params only, keyed by param name. */
export type Assignment = Record<string, unknown>;

const PATH_RE = /^[^.\s]+(\.[^.\s]+)*$/;
const common = {
  name: z.string().min(1),
  path: z.string().regex(PATH_RE, 'must be a dotted path like train.lr').optional(),
  when: z.record(z.string(), z.array(z.unknown()).min(1, 'must list at least one allowed value')).optional(),
};
const rangeFields = { low: z.number(), high: z.number(), log: z.boolean().default(false) };
const schemas = {
  float: z.strictObject({ ...common, type: z.literal('float'), ...rangeFields }),
  int: z.strictObject({
    ...common,
    type: z.literal('int'),
    ...rangeFields,
    low: z.number().int('must be a whole number'),
    high: z.number().int('must be a whole number'),
  }),
  choice: z.strictObject({ ...common, type: z.literal('choice'), values: z.array(z.unknown()).min(1, 'must list at least one value') }),
};
const TYPES = Object.keys(schemas) as (keyof typeof schemas)[];

/** JSON with object keys sorted at every level: equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** A stable key for an assignment (canonical JSON), for de-duplication and resume. */
export function assignmentKey(assignment: Assignment): string {
  return canonicalJson(assignment);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(top level)' : out;
}

const show = (v: unknown) => (typeof v === 'string' ? v : canonicalJson(v));

/** Checks one parsed param on its own (bounds, log scale, duplicate values); issues are [path, message]. */
function paramIssues(p: ParamSpec): [PropertyKey[], string][] {
  const issues: [PropertyKey[], string][] = [];
  if (p.type === 'choice') {
    const seen = new Map<string, number>();
    p.values.forEach((v, j) => {
      const k = canonicalJson(v);
      const first = seen.get(k);
      if (first !== undefined) issues.push([['values', j], `duplicates values[${first}] (${show(v)})`]);
      else seen.set(k, j);
    });
    return issues;
  }
  if (p.type === 'float' && !(p.low < p.high)) issues.push([['low'], `must be below high (got ${p.low} ≥ ${p.high})`]);
  if (p.type === 'int' && !(p.low <= p.high)) issues.push([['low'], `must not be above high (got ${p.low} > ${p.high})`]);
  if (p.log && p.type === 'float' && !(p.low > 0)) issues.push([['low'], `must be above 0 on a log scale (got ${p.low})`]);
  if (p.log && p.type === 'int' && !(p.low >= 1)) issues.push([['low'], `must be at least 1 on a log scale (got ${p.low})`]);
  return issues;
}

/** Whether `value` is one the choice or int param can take (used to check `when` lists). */
function valueProblem(p: ChoiceParam | IntParam, value: unknown): string | undefined {
  if (p.type === 'choice') {
    const k = canonicalJson(value);
    if (!p.values.some((v) => canonicalJson(v) === k)) return `${show(value)} is not one of ${p.name}'s values (${p.values.map(show).join(', ')})`;
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < p.low || value > p.high) {
    return `${show(value)} is not an integer in ${p.name}'s range [${p.low}, ${p.high}]`;
  }
  return undefined;
}

/** Two params may share a path only when conditions on the same param keep them from being active together. */
function exclusive(a: ParamSpec, b: ParamSpec): boolean {
  for (const [name, allowedA] of Object.entries(a.when ?? {})) {
    const allowedB = b.when?.[name];
    if (!allowedB) continue;
    const keysB = new Set(allowedB.map(canonicalJson));
    if (!allowedA.some((v) => keysB.has(canonicalJson(v)))) return true;
  }
  return false;
}

/**
 * Validates a search space document (already parsed from YAML). Every bad entry
 * is reported, each with its path, in one ConfigError naming `source`.
 */
export function parseSearchSpace(doc: unknown, source: string): SearchSpace {
  const issues: { at: number; line: string }[] = [];
  const add = (path: readonly PropertyKey[], message: string) =>
    issues.push({ at: typeof path[1] === 'number' ? path[1] : -1, line: `  ${formatPath(path)}: ${message}` });
  // listed param by param (a stable sort keeps each param's own order)
  const fail = () =>
    new ConfigError(
      `invalid search space (${source}):\n${issues
        .sort((a, b) => a.at - b.at)
        .map((i) => i.line)
        .join('\n')}`,
    );

  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    add([], 'must be a mapping with a params list');
    throw fail();
  }
  for (const key of Object.keys(doc)) if (key !== 'params') add([key], 'unknown field (the space holds only params)');
  const rawParams = (doc as Record<string, unknown>).params;
  if (!Array.isArray(rawParams) || rawParams.length === 0) {
    add(['params'], rawParams === undefined ? 'required: a list of params' : 'must be a non-empty list of params');
    throw fail();
  }

  // each param on its own
  const parsed: (ParamSpec | undefined)[] = rawParams.map((raw: unknown, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      add(['params', i], 'must be a mapping (name, type, ...)');
      return undefined;
    }
    const type = (raw as Record<string, unknown>).type;
    if (typeof type !== 'string' || !(TYPES as string[]).includes(type)) {
      add(['params', i, 'type'], `must be ${TYPES.join(', ')} (got ${type === undefined ? 'nothing' : show(type)})`);
      return undefined;
    }
    const r = schemas[type as keyof typeof schemas].safeParse(raw);
    if (!r.success) {
      for (const issue of r.error.issues) add(['params', i, ...issue.path], issue.message);
      return undefined;
    }
    const p = { ...r.data, path: r.data.path ?? r.data.name } as ParamSpec;
    if (p.when === undefined) delete (p as { when?: unknown }).when;
    const own = paramIssues(p);
    for (const [path, message] of own) add(['params', i, ...path], message);
    return own.length ? undefined : p;
  });

  // across params: unique names, conditions on earlier params, paths that cannot collide
  const firstIndex = new Map<string, number>();
  rawParams.forEach((raw: unknown, i) => {
    const name = (raw as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name === '') return;
    const first = firstIndex.get(name);
    if (first !== undefined) add(['params', i, 'name'], `duplicates params[${first}].name (${name})`);
    else firstIndex.set(name, i);
  });
  parsed.forEach((p, i) => {
    if (!p?.when) return;
    for (const [ref, allowed] of Object.entries(p.when)) {
      const j = firstIndex.get(ref);
      if (j === undefined) {
        add(['params', i, 'when', ref], `no param is named ${ref}`);
        continue;
      }
      if (j >= i) {
        add(
          ['params', i, 'when', ref],
          j === i ? 'a param cannot depend on itself' : `${ref} is params[${j}], declared later; conditions may only name earlier params`,
        );
        continue;
      }
      const target = parsed[j];
      if (!target) continue; // already reported
      if (target.type === 'float') {
        add(['params', i, 'when', ref], `${ref} is a float; a condition on a continuous value can almost never hold (make it a choice)`);
        continue;
      }
      allowed.forEach((v, k) => {
        const problem = valueProblem(target, v);
        if (problem) add(['params', i, 'when', ref, k], problem);
      });
    }
  });
  parsed.forEach((p, i) => {
    if (!p) return;
    for (let j = 0; j < i; j++) {
      const q = parsed[j];
      if (q && q.path === p.path && !exclusive(p, q)) {
        add(['params', i, 'path'], `${p.path} is also params[${j}].path, and both can be active together`);
        break;
      }
    }
  });

  if (issues.length) throw fail();
  return { params: parsed as ParamSpec[] };
}

/** Reads and validates a search space file (YAML or JSON). */
export function loadSearchSpace(path: string): SearchSpace {
  if (!existsSync(path)) throw new ConfigError(`search space file ${path} does not exist`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`search space file ${path} is not valid YAML: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
  return parseSearchSpace(doc, path);
}

/** Whether `value` is among `allowed`, by JSON equality. */
export function includesValue(allowed: readonly unknown[], value: unknown): boolean {
  const k = canonicalJson(value);
  return allowed.some((v) => canonicalJson(v) === k);
}

/** Whether `p` is active given the values of earlier params (every condition names an active param whose value is allowed). */
export function isActive(p: ParamSpec, assignment: Assignment): boolean {
  if (!p.when) return true;
  for (const [ref, allowed] of Object.entries(p.when)) {
    if (!Object.hasOwn(assignment, ref) || !includesValue(allowed, assignment[ref])) return false;
  }
  return true;
}

/**
 * The params active under `assignment`, in declaration order. A condition holds
 * only when the named param is itself active (it has a value in the assignment)
 * and its value is listed; conditions name earlier params, so one pass decides.
 */
export function activeParams(space: SearchSpace, assignment: Assignment): ParamSpec[] {
  const active: ParamSpec[] = [];
  const activeNames = new Set<string>();
  for (const p of space.params) {
    const ok = !p.when || Object.entries(p.when).every(([ref, allowed]) => activeNames.has(ref) && includesValue(allowed, assignment[ref]));
    if (ok) {
      active.push(p);
      activeNames.add(p.name);
    }
  }
  return active;
}
