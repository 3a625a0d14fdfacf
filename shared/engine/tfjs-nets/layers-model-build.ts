import { createHash } from 'node:crypto';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { DataError, errorMessage } from '../../errors.ts';
import { type TfjsLayersSpec, tfjsSpecProblem, topologyInfo } from '../../models/tfjs-layers.ts';
import { tfjsForm } from '../../models/tfjs-topology.ts';

/**
 * A tfjs spec's model, built from its topology by tfjs-layers (asynchronous, so once
 * per spec, before the net's synchronous steps run: TfjsNet.prepare) and checked
 * against the spec: one input of the spec's shape, one output of its classes, and
 * exactly the weights its list names, with their shapes. The spec comes from a peer, so
 * before tfjs sees it the topology is read without tfjs (tfjsSpecProblem): only layer
 * classes whose weights and output shapes Starling derives, those weights exactly the
 * spec's list, every output and the work per example capped. tfjs builds that reading of
 * the topology with every initializer Zeros (the weights are loaded from the flat vector
 * before each use). A spec that does not match its own topology is a DataError; nothing
 * built from it is kept, but the error is, so a refused spec costs each task nothing.
 */
export interface BuiltModel {
  readonly model: LayersModel;
  /** The model's weights in the spec's (flat) order. */
  readonly variables: readonly LayerVariable[];
  /** Per weight (flat order): whether tfjs trains it; false for a layer saved with trainable: false and for state such as batch-norm statistics. */
  readonly trainable: readonly boolean[];
  readonly output: 'probabilities' | 'logits';
  /** One example's input shape: the engine's flat rows are reshaped to it. */
  readonly inputShape: readonly number[];
}

/** Models kept per thread (least recently used first); a client trains one model, tests and tuning a few. */
const KEEP = 4;
const built = new Map<string, BuiltModel>();
const building = new Map<string, Promise<BuiltModel>>();
/** Models dropped from `built` (and disposed): a spec object that ran on one builds it again. */
const evicted = new WeakSet<BuiltModel>();
/** Specs refused, by key (least recently refused first). */
const refused = new Map<string, DataError>();
const KEEP_REFUSED = 16;
/** The model each prepared spec object runs on, for the synchronous calls that follow, with its key in `built`. */
const prepared = new WeakMap<TfjsLayersSpec, { key: string; model: BuiltModel }>();

/** Builds (or finds) `spec`'s model, so that builtModel(spec) can answer synchronously. */
export async function prepareLayersModel(spec: TfjsLayersSpec): Promise<void> {
  const known = prepared.get(spec);
  if (known && !evicted.has(known.model)) {
    keep(known.key, known.model);
    return;
  }
  const key = createHash('sha256')
    .update(JSON.stringify([spec.topology, spec.weights]))
    .digest('hex');
  const refusal = refused.get(key);
  if (refusal) throw refusal;
  let model = built.get(key);
  // a model built for a call that resumes after another evicted it is built again
  while (!model || evicted.has(model)) {
    let pending = building.get(key);
    if (!pending) {
      pending = buildModel(spec).finally(() => building.delete(key));
      building.set(key, pending);
    }
    try {
      model = await pending;
    } catch (e) {
      if (e instanceof DataError) remember(key, e);
      throw e;
    }
  }
  keep(key, model);
  prepared.set(spec, { key, model });
}

/** Marks `model` (under `key`) most recently used, evicting the least recently used past KEEP. */
function keep(key: string, model: BuiltModel): void {
  built.delete(key);
  built.set(key, model);
  for (const [old, m] of built) {
    if (built.size <= KEEP) break;
    built.delete(old);
    evicted.add(m);
    // after the calls already resumed with it (each runs to its end without yielding) are done
    setImmediate(() => m.model.dispose());
  }
}

function remember(key: string, error: DataError): void {
  refused.delete(key);
  refused.set(key, error);
  for (const old of refused.keys()) {
    if (refused.size <= KEEP_REFUSED) break;
    refused.delete(old);
  }
}

/** The model prepareLayersModel built for this spec object. */
export function builtModel(spec: TfjsLayersSpec): BuiltModel {
  const model = prepared.get(spec)?.model;
  if (!model) throw new Error('a tfjs spec was used before the engine prepared its model');
  return model;
}

/** The topology tfjs builds: read as tfjs reads it, every initializer Zeros (a fresh copy: tfjs changes what it is given). */
export function buildableTopology(spec: TfjsLayersSpec): Record<string, unknown> {
  const form = tfjsForm(spec.topology, true);
  if (typeof form === 'string') throw new DataError(`the tfjs model topology: ${form}`);
  return form;
}

async function buildModel(spec: TfjsLayersSpec): Promise<BuiltModel> {
  const problem = tfjsSpecProblem(spec);
  if (problem) throw new DataError(`the tfjs model cannot be built: ${problem}`);
  const tfjs = await import('@tensorflow/tfjs');
  let model: LayersModel;
  try {
    const modelTopology = buildableTopology(spec) as Parameters<typeof tfjs.models.modelFromJSON>[0]['modelTopology'];
    model = await tfjs.models.modelFromJSON({ modelTopology });
  } catch (e) {
    throw new DataError(`the tfjs model does not build from its topology: ${errorMessage(e)}`, { cause: e });
  }
  try {
    return checked(spec, model);
  } catch (e) {
    model.dispose();
    throw e;
  }
}

function checked(spec: TfjsLayersSpec, model: LayersModel): BuiltModel {
  const info = topologyInfo(spec);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new DataError(`the tfjs model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; Starling trains models with one of each`);
  }
  const input = model.inputs[0]!.shape.slice(1);
  if (JSON.stringify(input) !== JSON.stringify(info.inputShape)) {
    throw new DataError(`the tfjs model takes inputs of shape [${input.join(', ')}], its topology says [${info.inputShape.join(', ')}]`);
  }
  const output = model.outputs[0]!.shape;
  if (output.length !== 2 || output[1] !== info.classes) {
    throw new DataError(`the tfjs model's output has shape [${output.join(', ')}]; a classifier of ${info.classes} classes gives [batch, ${info.classes}]`);
  }
  const byName = new Map<string, LayerVariable>();
  for (const v of model.weights) {
    if (byName.has(v.originalName)) throw new DataError(`the tfjs model has two weights named ${v.originalName}`);
    byName.set(v.originalName, v);
  }
  const variables = spec.weights.map((w) => {
    const v = byName.get(w.name);
    if (!v) throw new DataError(`the spec lists weight ${w.name}, which the tfjs model does not have (it has ${[...byName.keys()].join(', ')})`);
    if (JSON.stringify(v.shape) !== JSON.stringify(w.shape)) {
      throw new DataError(`weight ${w.name} has shape [${v.shape.join(', ')}] in the tfjs model, [${w.shape.join(', ')}] in the spec`);
    }
    if (v.dtype !== 'float32') throw new DataError(`weight ${w.name} of the tfjs model is ${v.dtype}; Starling trains float32 weights`);
    return v;
  });
  if (variables.length !== model.weights.length) {
    const listed = new Set(spec.weights.map((w) => w.name));
    const missing = model.weights.filter((v) => !listed.has(v.originalName)).map((v) => v.originalName);
    throw new DataError(`the spec does not list the tfjs model's weights ${missing.join(', ')}`);
  }
  // the variables tfjs reads and writes: an engine swaps the flat weights in and out of them
  if (!variables.every((v) => v.read() instanceof tf.Variable)) throw new DataError('this tfjs-layers keeps its weights in a form Starling cannot train');
  return { model, variables, trainable: variables.map((v) => v.trainable), output: info.output, inputShape: info.inputShape };
}
