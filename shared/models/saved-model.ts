import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { atomicWrite } from '../atomic-file.ts';
import { ConfigError, DataError, InvalidArgumentError } from '../errors.ts';
import { paramCount, paramShapes } from './registry.ts';
import { modelSpecSchema, type ModelSpec } from './spec.ts';

/**
 * The saved-model format: a directory holding `model.json` (this manifest) beside
 * a raw weights file (little-endian float32, the flat layout of shared/weights.ts).
 * Every run directory is one; `init:` starts a run from one. Loading checks the
 * format and version, the spec against its schema, the parameter list against the
 * spec, the weights file's size and its SHA-256.
 */
export const SAVED_MODEL_FORMAT = 'starling-model';
export const SAVED_MODEL_VERSION = 1;
export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'final-weights.f32';

export interface SavedModelManifest {
  readonly format: typeof SAVED_MODEL_FORMAT;
  readonly version: typeof SAVED_MODEL_VERSION;
  readonly spec: ModelSpec;
  readonly params: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly paramCount: number;
  readonly dtype: 'float32-le';
  /** The weights file, beside model.json. */
  readonly weights: string;
  readonly weightsSha256: string;
  /** Where the model came from (run id, rounds, accuracy, what was frozen): informational. */
  readonly source?: Readonly<Record<string, unknown>>;
}

export interface SavedModel {
  readonly spec: ModelSpec;
  readonly weights: Float32Array;
  readonly manifest: SavedModelManifest;
  /** The model.json it was read from. */
  readonly file: string;
}

const manifestSchema = z.object({
  params: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().min(0)) })),
  paramCount: z.number().int().min(1),
  dtype: z.literal('float32-le'),
  weights: z
    .string()
    .regex(/^[^/\\]+$/, 'must be a file name beside model.json')
    .refine((name) => name !== '.' && name !== '..', 'must be a file name beside model.json'),
  weightsSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  source: z.record(z.string(), z.unknown()).optional(),
});

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function bytesOf(weights: Float32Array): Uint8Array {
  return new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength);
}

/**
 * A saved model is trained on what the peers sent (and can leak it): its files are its
 * owner's alone, and a directory saveModel creates is too. The bytes do not change.
 */
const SAVED_DIR_MODE = 0o700;
const SAVED_FILE_MODE = 0o600;

/**
 * Saves `weights` of `spec` into `dir` as `model.json` + `final-weights.f32`
 * (each written atomically, the weights first). Returns the model.json path.
 */
export function saveModel(dir: string, spec: ModelSpec, weights: Float32Array, source?: Record<string, unknown>): string {
  const count = paramCount(spec);
  if (weights.length !== count) throw new InvalidArgumentError(`saveModel: got ${weights.length} weights, the model has ${count}`);
  mkdirSync(dir, { recursive: true, mode: SAVED_DIR_MODE });
  const bytes = bytesOf(weights);
  atomicWrite(join(dir, WEIGHTS_FILE), bytes, SAVED_FILE_MODE);
  const manifest: SavedModelManifest = {
    format: SAVED_MODEL_FORMAT,
    version: SAVED_MODEL_VERSION,
    spec,
    params: paramShapes(spec),
    paramCount: count,
    dtype: 'float32-le',
    weights: WEIGHTS_FILE,
    weightsSha256: sha256Hex(bytes),
    ...(source ? { source } : {}),
  };
  const file = join(dir, MODEL_FILE);
  atomicWrite(file, `${JSON.stringify(manifest, null, 2)}\n`, SAVED_FILE_MODE);
  return file;
}

/** The model.json a path names: the path itself, or model.json inside a directory (a run directory). */
export function modelFileOf(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, MODEL_FILE) : path;
}

/** Reads and checks a saved model's manifest (not its weights): a ConfigError when absent, a DataError naming the file for anything wrong in it. */
export function readManifest(path: string): { manifest: SavedModelManifest; file: string } {
  const file = modelFileOf(path);
  if (!existsSync(file)) throw new ConfigError(`saved model ${file} does not exist (give a model.json or a run directory holding one)`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new DataError(`saved model ${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new DataError(`saved model ${file} must hold a JSON object`);
  const d = doc as Record<string, unknown>;
  if (d.format !== SAVED_MODEL_FORMAT)
    throw new DataError(`${file} is not a Starling saved model (format ${JSON.stringify(d.format)}, expected "${SAVED_MODEL_FORMAT}")`);
  if (d.version !== SAVED_MODEL_VERSION) {
    throw new DataError(`${file}: saved-model version ${JSON.stringify(d.version)} is not supported (this Starling reads version ${SAVED_MODEL_VERSION})`);
  }
  const spec = modelSpecSchema.safeParse(d.spec);
  if (!spec.success) {
    throw new DataError(
      `${file}: invalid model spec:\n${spec.error.issues.map((i) => `  spec${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`).join('\n')}`,
    );
  }
  const rest = manifestSchema.safeParse(d);
  if (!rest.success) throw new DataError(`${file}: ${rest.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`);
  const expected = paramShapes(spec.data);
  const listed = rest.data.params;
  const mismatch = expected.findIndex((p, i) => listed[i]?.name !== p.name || JSON.stringify(listed[i]?.shape) !== JSON.stringify(p.shape));
  if (mismatch >= 0 || listed.length !== expected.length) {
    const at = mismatch >= 0 ? mismatch : expected.length;
    throw new DataError(
      `${file}: params do not match the spec at #${at} (listed ${JSON.stringify(listed[at] ?? null)}, the spec gives ${JSON.stringify(expected[at] ?? null)})`,
    );
  }
  if (rest.data.paramCount !== paramCount(spec.data))
    throw new DataError(`${file}: paramCount ${rest.data.paramCount} does not match the spec's ${paramCount(spec.data)}`);
  return { manifest: { ...rest.data, format: SAVED_MODEL_FORMAT, version: SAVED_MODEL_VERSION, dtype: 'float32-le', spec: spec.data }, file };
}

/** Loads a saved model (a model.json, or a directory holding one), checking everything; see readManifest for the errors. */
export function loadSavedModel(path: string): SavedModel {
  const { manifest, file } = readManifest(path);
  const weightsFile = join(dirname(file), manifest.weights);
  if (!existsSync(weightsFile)) throw new DataError(`${file} names weights file ${basename(weightsFile)}, but ${weightsFile} does not exist`);
  const stat = statSync(weightsFile);
  if (!stat.isFile()) throw new DataError(`${file} names weights file ${basename(weightsFile)}, but ${weightsFile} is not a regular file`);
  const need = manifest.paramCount * 4;
  // the size is checked before reading, so a wrong (or huge) file is never loaded
  if (stat.size !== need) throw new DataError(`${weightsFile} holds ${stat.size} bytes; ${file} needs ${need} (${manifest.paramCount} float32 parameters)`);
  const bytes = readFileSync(weightsFile);
  if (bytes.length !== need) throw new DataError(`${weightsFile} changed while it was read (${bytes.length} bytes, ${need} expected)`);
  const sum = sha256Hex(bytes);
  if (sum !== manifest.weightsSha256)
    throw new DataError(
      `${weightsFile} has SHA-256 ${sum}, but ${file} records ${manifest.weightsSha256}: the weights were changed or belong to another model`,
    );
  // a copy into a fresh, aligned buffer
  const weights = new Float32Array(need / 4);
  new Uint8Array(weights.buffer).set(bytes);
  return { spec: manifest.spec, weights, manifest, file };
}

/** Structural equality of two parsed specs (key order ignored). */
export function sameSpec(a: ModelSpec, b: ModelSpec): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
