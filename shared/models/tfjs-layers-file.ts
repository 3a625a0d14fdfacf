import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { ConfigError, DataError } from '../errors.ts';
import { modelFileOf } from './saved-model.ts';
import type { TfjsLayersSpec } from './tfjs-layers.ts';
import { copyModelWeights, type PlacedEntry, placeEntries, specFromParts, trainingConfigOf, weightEntriesSchema } from './tfjs-layers-artifacts.ts';
import { isPlainObject } from './tfjs-topology.ts';

/**
 * A tfjs layers model on disk, as `model.save` (or the Keras converter) writes it: a
 * model.json holding `modelTopology` and a `weightsManifest` whose groups name binary
 * shards beside it. Read synchronously (a run config is resolved synchronously), with
 * every piece checked before it is believed: the JSON's size before it is parsed, each
 * shard's path and size before any is read. A missing model.json is a ConfigError;
 * anything wrong in or beside it a DataError naming the file.
 */

/** A model.json larger than this is refused unread (a topology may hold 4 MiB; the rest is the manifest). */
export const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;

export interface TfjsModelFile {
  readonly spec: TfjsLayersSpec;
  /** The model.json read. */
  readonly file: string;
  /** What the model was compiled with, when model.json records it. */
  readonly trainingConfig?: Record<string, unknown>;
  /** The flat weights, when asked for. */
  readonly weights?: Float32Array;
}

const manifestSchema = z.array(z.object({ paths: z.array(z.string().min(1)).min(1), weights: weightEntriesSchema }));

/** Whether a parsed model.json is a tfjs model's (rather than a Starling saved model's, which is also called model.json). */
export function isTfjsModelDocument(doc: unknown): boolean {
  return isPlainObject(doc) && ('modelTopology' in doc || doc.format === 'layers-model' || doc.format === 'graph-model');
}

/** Reads and parses a model.json (or the one in a folder): a ConfigError when absent, a DataError when too large or not JSON. */
export function readModelJson(path: string, what = 'tfjs model'): { doc: unknown; file: string } {
  const file = modelFileOf(path);
  if (!existsSync(file)) throw new ConfigError(`${what} ${file} does not exist (give the model.json that model.save wrote, or the folder holding it)`);
  const stat = statSync(file);
  if (!stat.isFile()) throw new DataError(`${what} ${file} is not a regular file`);
  if (stat.size > MAX_MODEL_JSON_BYTES) throw new DataError(`${file} holds ${stat.size} bytes; a model.json may hold at most ${MAX_MODEL_JSON_BYTES}`);
  try {
    return { doc: JSON.parse(readFileSync(file, 'utf8')), file };
  } catch (cause) {
    throw new DataError(`${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The tfjs model at `path` (a model.json, or the folder holding one): its spec, its
 * training config and, with `weights`, its flat weights. Without `weights` the shards
 * are still found and sized, so a config names a broken model before a run starts.
 */
export function readTfjsModelFile(path: string, opts: { weights: boolean }): TfjsModelFile {
  const { doc, file } = readModelJson(path);
  return tfjsModelFromDocument(doc, file, opts);
}

/** readTfjsModelFile on a model.json already parsed. */
export function tfjsModelFromDocument(doc: unknown, file: string, opts: { weights: boolean }): TfjsModelFile {
  const fail = (message: string) => new DataError(message);
  if (!isPlainObject(doc)) throw fail(`${file} must hold a JSON object`);
  if (doc.format === 'graph-model')
    throw fail(`${file} is a tfjs graph model (converted for inference); Starling trains layers models (format "layers-model")`);
  if (doc.format !== undefined && doc.format !== 'layers-model')
    throw fail(`${file} has format ${JSON.stringify(doc.format)}; a tfjs layers model's is "layers-model"`);
  if (!('modelTopology' in doc)) throw fail(`${file} has no modelTopology: it is not a tfjs layers model's model.json`);
  const manifest = manifestSchema.safeParse(doc.weightsManifest);
  if (!manifest.success) {
    const issues = manifest.error.issues.map(
      (i) => `weightsManifest${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`,
    );
    throw fail(`${file}: ${issues.join('; ')}`);
  }
  const groups = manifest.data.map((group, g) => {
    const { placed, bytes } = placeEntries(group.weights, `${file}: weightsManifest[${g}]`, fail);
    return { placed, bytes, shards: shardFiles(file, g, group.paths, bytes) };
  });
  const modelEntries = groups.flatMap((g) => g.placed.filter((p) => p.model).map((p) => p.entry));
  const trainingConfig = trainingConfigOf(doc.modelTopology, doc.trainingConfig);
  const spec = specFromParts(doc.modelTopology, modelEntries, trainingConfig, file, fail);
  const weights = opts.weights ? readWeights(groups) : undefined;
  return { spec, file, ...(trainingConfig ? { trainingConfig } : {}), ...(weights ? { weights } : {}) };
}

/** A group's shard files, each checked to be a file inside model.json's folder, their sizes summing to what the group's entries need. */
function shardFiles(file: string, g: number, paths: readonly string[], need: number): string[] {
  const dir = dirname(file);
  let total = 0;
  const shards = paths.map((p, i) => {
    if (isAbsolute(p) || p.split(/[/\\]/).includes('..')) {
      throw new DataError(`${file}: weightsManifest[${g}].paths[${i}] ${JSON.stringify(p)} must be a path relative to model.json, inside its folder`);
    }
    const shard = join(dir, p);
    if (!existsSync(shard)) throw new DataError(`${file} names weights file ${p}, but ${shard} does not exist`);
    const stat = statSync(shard);
    if (!stat.isFile()) throw new DataError(`${file} names weights file ${p}, but ${shard} is not a regular file`);
    total += stat.size;
    return shard;
  });
  if (total !== need) {
    throw new DataError(
      `${file}: weights group ${g} (${paths.join(', ')}) holds ${total} bytes, but its ${paths.length === 1 ? 'file' : 'files'} must hold ${need} ` +
        '(the weights its manifest lists): the weights belong to another model, or were cut short',
    );
  }
  return shards;
}

/** The model weights of every group, in manifest order, as one flat array. */
function readWeights(groups: readonly { placed: readonly PlacedEntry[]; bytes: number; shards: readonly string[] }[]): Float32Array {
  const count = groups.reduce((n, g) => n + g.placed.reduce((m, p) => m + (p.model ? p.bytes / 4 : 0), 0), 0);
  const out = new Float32Array(count);
  let at = 0;
  for (const g of groups) {
    const bytes = Buffer.concat(g.shards.map((s) => readFileSync(s)));
    if (bytes.length !== g.bytes) throw new DataError(`${g.shards.join(', ')} changed while they were read (${bytes.length} bytes, ${g.bytes} expected)`);
    at = copyModelWeights(g.placed, bytes, out, at);
  }
  return out;
}
