import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { runConfigSchema, type RunConfig, type RunConfigInput } from './config/schema.ts';
import { runConfigFields } from './config/fields.ts';
import { ConfigError } from './errors.ts';
import { readInitialSpec } from './models/initial-model.ts';
import { describeSpec } from './models/registry.ts';
import { sameSpec } from './models/saved-model.ts';
import { expandTfjsModelRef } from './models/tfjs-layers-config.ts';

/**
 * The run config: one schema, one merge. Defaults ← YAML file ← command-line
 * flags ← programmatic options all pass through `resolveRunConfig`, which
 * reports every bad field with its path, and every contradiction between
 * fields (config/checks.ts), before anything starts.
 */
export { DEFAULT_PORT, runConfigInputSchema, runConfigSchema, type RunConfig, type RunConfigInput } from './config/schema.ts';
export { runConfigFields } from './config/fields.ts';

/** Reads a YAML (or JSON) run config file into a plain object, unvalidated. */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${path} must hold a mapping of settings`);
  return doc as Record<string, unknown>;
}

/**
 * Merges layers left to right (later wins; undefined values are skipped) and
 * validates. Every bad field is listed, each with its dotted path.
 */
export function resolveRunConfig(source: string, ...layers: Record<string, unknown>[]): RunConfig {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) refusePrototypeKeys(layer, source);
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v;
  }
  // model: {type: tfjs, path} becomes the file's spec (and the file init:, unless one is set)
  expandTfjsModelRef(merged);
  // a saved model (Starling's, or a tfjs model.json) brings its spec; a `model:` given as well must be the same one
  const saved = typeof merged.init === 'string' && merged.init !== '' ? readInitialSpec(merged.init) : undefined;
  if (saved && merged.model === undefined) merged.model = saved.spec;
  const invalid = (lines: string[]) => new ConfigError(`invalid run config (${source}):\n${lines.join('\n')}`);
  const parsed = runConfigSchema.safeParse(merged);
  if (!parsed.success) throw invalid(parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`));
  if (saved && !sameSpec(parsed.data.model, saved.spec)) {
    throw invalid([`  model: differs from the spec of the saved model ${saved.file} (${describeSpec(saved.spec)}); leave model unset to use the saved one`]);
  }
  return parsed.data;
}

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Whether `key` would reach an object's prototype when assigned: never a setting. */
export function isPrototypeKey(key: string): boolean {
  return PROTOTYPE_KEYS.has(key);
}

/** Refuses a `__proto__`, `constructor` or `prototype` key anywhere in a config layer, naming its path. */
function refusePrototypeKeys(value: unknown, source: string, path: readonly string[] = []): void {
  if (typeof value !== 'object' || value === null) return;
  for (const key of Object.keys(value)) {
    const at = [...path, key];
    if (isPrototypeKey(key)) throw new ConfigError(`invalid run config (${source}):\n  ${at.join('.')}: not a setting`);
    refusePrototypeKeys((value as Record<string, unknown>)[key], source, at);
  }
}

/** Loads defaults ← file ← overrides. */
export function loadRunConfig(file: string | undefined, overrides: Record<string, unknown> = {}): RunConfig {
  const fromFile = file ? readConfigFile(file) : {};
  return resolveRunConfig(file ?? 'flags', fromFile, overrides);
}

/**
 * `config` with some fields changed — flat keys, as a config file writes them; an undefined
 * value unsets a field — and validated again like any run config.
 */
export function withFields(config: RunConfig, changes: Partial<RunConfigInput>, source = 'changed config'): RunConfig {
  const fields = runConfigFields(config);
  // turning secure aggregation off drops its settings with it
  if (changes.secagg === false) for (const k of Object.keys(fields)) if (k.startsWith('secagg') && k !== 'secagg') delete fields[k];
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete fields[k];
    else fields[k] = v;
  }
  return resolveRunConfig(source, fields);
}
