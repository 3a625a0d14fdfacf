import { z } from 'zod';
import { sizeOf } from '../weights.ts';
import { type TfjsLayersSpec, tfjsLayersSpecSchema } from './tfjs-layers.ts';
import { compiledLoss } from './tfjs-layers-training.ts';
import { isPlainObject } from './tfjs-topology.ts';

/**
 * What `model.save` hands its IO handler (a model.json's parts), turned into a tfjs
 * spec and the flat weights: the model's weights in the order they are listed, the
 * optimizer's (saved with `includeOptimizer`) left out. Shared by the file reader
 * (tfjs-layers-file.ts) and the model-object helper (tfjs-layers-api.ts).
 */

/** One entry of a weights manifest (`weightSpecs` in model.save's artifacts). */
const weightEntrySchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().min(0)),
  dtype: z.string(),
  group: z.string().optional(),
  quantization: z.unknown().optional(),
});
export const weightEntriesSchema = z.array(weightEntrySchema);
export type WeightEntry = z.infer<typeof weightEntrySchema>;

/** Bytes per value of the dtypes a weights file may hold. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Where each entry lies in the bytes of its weights (one manifest group's shards, or model.save's weightData). */
export interface PlacedEntry {
  readonly entry: WeightEntry;
  /** A model weight (not the optimizer's state). */
  readonly model: boolean;
  readonly offset: number;
  readonly bytes: number;
}

/** `fail` makes the error for a message (a DataError for a file, an InvalidArgumentError for a model object). */
export type Fail = (message: string) => Error;

/** Places the entries one after another, as tfjs writes them; refuses what Starling cannot read. */
export function placeEntries(entries: readonly WeightEntry[], source: string, fail: Fail): { placed: PlacedEntry[]; bytes: number } {
  let offset = 0;
  const placed = entries.map((entry) => {
    const model = entry.group !== 'optimizer';
    if (entry.quantization !== undefined && entry.quantization !== null) {
      throw fail(`${source}: weight ${entry.name} is quantized; Starling trains float32 weights (save or convert the model without quantization)`);
    }
    const width = DTYPE_BYTES[entry.dtype];
    if (width === undefined || (model && entry.dtype !== 'float32')) {
      throw fail(`${source}: weight ${entry.name} has dtype ${entry.dtype}; Starling trains float32 model weights`);
    }
    const bytes = sizeOf(entry.shape) * width;
    const at = { entry, model, offset, bytes };
    offset += bytes;
    return at;
  });
  return { placed, bytes: offset };
}

/** The model config inside a modelTopology (which may wrap it in `model_config`, beside keras_version and backend). */
function modelConfig(modelTopology: unknown, source: string, fail: Fail): Record<string, unknown> {
  if (!isPlainObject(modelTopology)) throw fail(`${source}: modelTopology must be a JSON object (a tfjs layers model's, as model.save writes it)`);
  const config = isPlainObject(modelTopology.model_config) ? modelTopology.model_config : modelTopology;
  return { class_name: config.class_name, config: config.config };
}

/** The training config a model.json carries: top-level `trainingConfig` (tfjs), or `training_config` in the topology (Keras). */
export function trainingConfigOf(modelTopology: unknown, trainingConfig: unknown): Record<string, unknown> | undefined {
  if (isPlainObject(trainingConfig)) return trainingConfig;
  return isPlainObject(modelTopology) && isPlainObject(modelTopology.training_config) ? modelTopology.training_config : undefined;
}

/**
 * The spec of a model from its topology, its model weights (in flat order) and its
 * training config (the compiled loss becomes the spec's). Every problem names `source`.
 */
export function specFromParts(
  modelTopology: unknown,
  weights: readonly { name: string; shape: readonly number[] }[],
  trainingConfig: Record<string, unknown> | undefined,
  source: string,
  fail: Fail,
): TfjsLayersSpec {
  const loss = trainingConfig ? compiledLoss(trainingConfig, source) : 'categoricalCrossentropy';
  if (typeof loss !== 'string') throw fail(loss.problem);
  const parsed = tfjsLayersSpecSchema.safeParse({
    type: 'tfjs',
    topology: modelConfig(modelTopology, source, fail),
    weights: weights.map((w) => ({ name: w.name, shape: [...w.shape] })),
    loss,
  });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(the model)'}: ${i.message}`);
    throw fail(`${source} is not a model Starling can train:\n${issues.join('\n')}`);
  }
  return parsed.data;
}

/** Copies the float32 values of placed model entries out of `bytes` into `out`, from `at` on; returns where it stopped. */
export function copyModelWeights(placed: readonly PlacedEntry[], bytes: Uint8Array, out: Float32Array, at: number): number {
  for (const p of placed) {
    if (!p.model) continue;
    // a copy through a byte view of `out`: the entry need not be 4-byte aligned in `bytes`
    new Uint8Array(out.buffer, out.byteOffset + at * 4, p.bytes).set(bytes.subarray(p.offset, p.offset + p.bytes));
    at += p.bytes / 4;
  }
  return at;
}
