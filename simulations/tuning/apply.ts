import { isPrototypeKey, resolveRunConfig, type RunConfig } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { formatStrategySpec, strategySpecSchema } from '../../shared/strategy-spec.ts';

/** Where a tuned parameter goes in the run config: `train.lr`, `model`, `strategy`, `strategy.mu` (a strategy parameter), … */
export interface ParamTarget {
  readonly name: string;
  readonly path?: string;
}

/**
 * The run-config layer a trial runs with: `base` (the search's fixed settings) with
 * each tuned value written at its path. Dotted paths set nested fields (`train.lr`,
 * `schedule.gamma`); `strategy.<key>` sets a parameter of the strategy spec
 * (`fedprox` + `strategy.mu` = 0.1 → `fedprox:mu=0.1`), keeping the base spec's others.
 * Pure: `base` is not changed.
 */
export function applyAssignment(base: Record<string, unknown>, params: readonly ParamTarget[], assignment: Record<string, unknown>): Record<string, unknown> {
  const layer = structuredClone(base);
  const strategyParams: Record<string, number> = {};
  for (const p of params) {
    if (!(p.name in assignment)) continue; // an inactive conditional parameter
    const value = assignment[p.name];
    const path = (p.path ?? p.name).split('.');
    if (path[0] === 'strategy' && path.length === 2) {
      if (typeof value !== 'number') throw new ConfigError(`${p.name}: a strategy parameter must be a number, got ${JSON.stringify(value)}`);
      strategyParams[path[1]!] = value;
      continue;
    }
    setPath(layer, path, structuredClone(value));
  }
  // a strategy parameter is set on the typed spec (the base's string or mapping, parsed once), never by editing its text
  if (Object.keys(strategyParams).length) {
    const merged = { ...strategyOf(layer.strategy), ...strategyParams };
    // written back in the short form (a bad value stays a mapping, for the trial's config check to report)
    const parsed = strategySpecSchema.safeParse(merged);
    layer.strategy = parsed.success ? formatStrategySpec(parsed.data) : merged;
  }
  return layer;
}

/** The base layer's strategy as a spec object (fedavg when it sets none); a bad one is reported by the trial's config check. */
function strategyOf(value: unknown): Record<string, unknown> {
  if (value === undefined) return { name: 'fedavg' };
  const parsed = strategySpecSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`strategy: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return { ...parsed.data };
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  if (path.some(isPrototypeKey)) throw new ConfigError(`cannot set ${path.join('.')}: not a setting`);
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new ConfigError(`cannot set ${path.join('.')}: ${key} is not a section`);
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/**
 * A trial's full run config: the defaults ← `base` ← the tuned values, validated like
 * any run config (a value the search space allows but the run refuses is the trial's
 * error, reported with the field).
 */
export function trialConfig(base: Record<string, unknown>, params: readonly ParamTarget[], assignment: Record<string, unknown>): RunConfig {
  return resolveRunConfig('trial', trialLayer(base, params, assignment));
}

/** The config layer of a trial, complete enough to stand alone as a run-config file. */
export function trialLayer(base: Record<string, unknown>, params: readonly ParamTarget[], assignment: Record<string, unknown>): Record<string, unknown> {
  return applyAssignment(withFullSections(base), params, assignment);
}

/** Nested sections a tuned path may write into start from their defaults, so `train.lr` alone keeps the default epochs and batch size. */
function withFullSections(base: Record<string, unknown>): Record<string, unknown> {
  const defaults = resolveRunConfig('defaults', base);
  return { ...base, train: defaults.train, schedule: defaults.schedule };
}
