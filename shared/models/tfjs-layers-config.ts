import { ConfigError, DataError } from '../errors.ts';
import { readTfjsModelFile } from './tfjs-layers-file.ts';
import { compiledOptimizer } from './tfjs-layers-training.ts';
import { isPlainObject } from './tfjs-topology.ts';

/**
 * The run config's short form for a user's tfjs model: `model: {type: tfjs, path: model.json}`.
 * Resolving the config replaces it with the full spec read from the file (which then
 * travels to clients like any spec); the file becomes `init:` unless one is set, so its
 * weights are the initial global model; and what the model was compiled with becomes the
 * `train:` defaults unless `train:` names an optimizer of its own (its other fields win).
 * The path is relative to the working directory, as init:'s is.
 */

/** Whether a config's `model` is the short form (a full tfjs spec carries a topology instead). */
function isTfjsRef(model: unknown): model is Record<string, unknown> & { type: 'tfjs' } {
  return isPlainObject(model) && model.type === 'tfjs' && !('topology' in model);
}

/** Expands `merged.model` in place when it is `{type: tfjs, path}`; leaves every other config as it is. */
export function expandTfjsModelRef(merged: Record<string, unknown>): void {
  const ref = merged.model;
  if (!isTfjsRef(ref)) return;
  const extra = Object.keys(ref).filter((k) => k !== 'type' && k !== 'path');
  if (typeof ref.path !== 'string' || ref.path === '' || extra.length) {
    const why = extra.length ? ` (${extra.join(', ')} is not a setting there)` : '';
    throw new ConfigError(`model: a tfjs model is given as {type: tfjs, path: path/to/model.json}${why}`);
  }
  const model = readTfjsModelFile(ref.path, { weights: false });
  merged.model = model.spec;
  if (merged.init === undefined) merged.init = ref.path;
  const train = merged.train;
  const chosen = isPlainObject(train) && train.optimizer !== undefined;
  if (!model.trainingConfig || chosen || (train !== undefined && !isPlainObject(train))) return;
  const compiled = compiledOptimizer(model.trainingConfig, model.file);
  if (compiled === undefined) return;
  if ('problem' in compiled) throw new DataError(compiled.problem);
  merged.train = { ...compiled.fields, ...(isPlainObject(train) ? train : {}) };
}
