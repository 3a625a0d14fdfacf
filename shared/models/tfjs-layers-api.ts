import type { LayersModel } from '@tensorflow/tfjs';
import type { io } from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.ts';
import type { TfjsLayersSpec } from './tfjs-layers.ts';
import { copyModelWeights, placeEntries, specFromParts, trainingConfigOf, weightEntriesSchema } from './tfjs-layers-artifacts.ts';
import { type CompiledTrainFields, compiledOptimizer } from './tfjs-layers-training.ts';

/**
 * A program's own tfjs model object as a Starling spec, for the programmatic form of
 * "bring your own model": the spec goes into the run config as `model`, the weights
 * into simulate / startCoordinator as `initialWeights`.
 *
 *   const { spec, weights, train } = await tfjsModelSpec(model);
 *   const config = resolveRunConfig('program', { model: spec, train: { ...train, epochs: 2 } });
 *   await simulate(config, { log, initialWeights: weights });
 *
 * The model is read through its own `save` (an in-memory IO handler), so the spec is
 * exactly what a model.json of it would hold. Only tfjs types are imported here: the
 * caller's tfjs does the work.
 */
export interface TfjsModelSpec {
  readonly spec: TfjsLayersSpec;
  /** The model's weights, flat, in the spec's order. */
  readonly weights: Float32Array;
  /** The `train:` fields of the optimizer the model was compiled with, when Starling has that optimizer. */
  readonly train?: CompiledTrainFields;
}

export async function tfjsModelSpec(model: LayersModel): Promise<TfjsModelSpec> {
  let artifacts: io.ModelArtifacts | undefined;
  const handler: io.IOHandler = {
    save: async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  };
  // with the optimizer, save also writes the training config (the compiled loss and optimizer)
  await model.save(handler, { includeOptimizer: true });
  if (!artifacts) throw new InvalidArgumentError('tfjsModelSpec: model.save handed nothing to its IO handler');
  const source = `the model ${model.name}`;
  const fail = (message: string) => new InvalidArgumentError(message);
  const entries = weightEntriesSchema.parse(artifacts.weightSpecs ?? []);
  const { placed, bytes } = placeEntries(entries, source, fail);
  const data = concatenated(artifacts.weightData);
  if (data.length !== bytes) throw fail(`${source}: model.save wrote ${data.length} bytes of weights, its weight specs need ${bytes}`);
  const trainingConfig = trainingConfigOf(artifacts.modelTopology, artifacts.trainingConfig);
  const spec = specFromParts(
    artifacts.modelTopology,
    placed.filter((p) => p.model).map((p) => p.entry),
    trainingConfig,
    source,
    fail,
  );
  const weights = new Float32Array(placed.reduce((n, p) => n + (p.model ? p.bytes / 4 : 0), 0));
  copyModelWeights(placed, data, weights, 0);
  const optimizer = trainingConfig ? compiledOptimizer(trainingConfig, source) : undefined;
  return { spec, weights, ...(optimizer && 'fields' in optimizer ? { train: optimizer.fields } : {}) };
}

/** model.save's weight data (one buffer, or several in tfjs 4's sharded form) as one byte array. */
function concatenated(data: io.ModelArtifacts['weightData']): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const buffers = Array.isArray(data) ? data : [data];
  return Buffer.concat(buffers.map((b) => new Uint8Array(b)));
}
