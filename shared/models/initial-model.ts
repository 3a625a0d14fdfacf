import { loadSavedModel, modelFileOf, readManifest } from './saved-model.ts';
import type { ModelSpec } from './spec.ts';
import { isTfjsModelDocument, readModelJson, tfjsModelFromDocument } from './tfjs-layers-file.ts';

/**
 * What `init:` may name: a Starling saved model (a run directory, or its model.json) or
 * a tfjs layers model (the model.json `model.save` wrote, or its folder). Both files are
 * called model.json; a tfjs one is told apart by its `modelTopology` / `format` keys.
 * Either way the file's spec is the run's model and its weights the initial global model.
 */

export interface InitialModel {
  readonly spec: ModelSpec;
  readonly weights: Float32Array;
  /** The model.json read. */
  readonly file: string;
}

/** The parsed model.json at `path` when it is a tfjs model's; undefined for anything else (a Starling saved model, or no file). */
function tfjsDocument(path: string): { doc: unknown; file: string } | undefined {
  // a missing, oversized or unreadable file is left to the saved-model reader, whose errors say what init: takes
  try {
    const read = readModelJson(modelFileOf(path));
    return isTfjsModelDocument(read.doc) ? read : undefined;
  } catch {
    return undefined;
  }
}

/** The spec of the model `init:` names (its weights unread: a config is checked before a run starts). */
export function readInitialSpec(path: string): { spec: ModelSpec; file: string } {
  const tfjs = tfjsDocument(path);
  if (tfjs) return tfjsModelFromDocument(tfjs.doc, tfjs.file, { weights: false });
  const { manifest, file } = readManifest(path);
  return { spec: manifest.spec, file };
}

/** The model `init:` names, its weights read and checked. */
export function loadInitialModel(path: string): InitialModel {
  const tfjs = tfjsDocument(path);
  if (tfjs) {
    const model = tfjsModelFromDocument(tfjs.doc, tfjs.file, { weights: true });
    return { spec: model.spec, weights: model.weights!, file: model.file };
  }
  const saved = loadSavedModel(path);
  return { spec: saved.spec, weights: saved.weights, file: saved.file };
}
