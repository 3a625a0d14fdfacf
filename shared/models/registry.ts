import { layoutSize, type ParamShape } from '../weights.ts';
import { cnn } from './cnn.ts';
import { gan } from './gan.ts';
import { fillParams } from './init.ts';
import { mlp } from './mlp.ts';
import type { ModelEntry } from './model.ts';
import { rnn } from './rnn.ts';
import type { ModelSpec, ModelType } from './spec.ts';
import { describeTfjsSpec, tfjsLayers } from './tfjs-layers.ts';
import { transformer } from './transformer.ts';

export type SpecOf<T extends ModelType> = Extract<ModelSpec, { type: T }>;

/** Every architecture by its spec's type; adding a member to the spec union fails to compile until it has an entry here. */
export const MODELS: { readonly [T in ModelType]: ModelEntry<SpecOf<T>> } = { mlp, cnn, rnn, transformer, gan, tfjs: tfjsLayers };

/** The registry entry of `spec`'s architecture. */
function modelEntry<S extends ModelSpec>(spec: S): ModelEntry<S> {
  // the table is keyed by type, so the entry found is the one for S
  return MODELS[spec.type] as unknown as ModelEntry<S>;
}

/**
 * The parameters of `spec` in flat order: weights travel and aggregate as ONE
 * Float32Array, these concatenated (shared/weights.ts).
 */
export function paramShapes(spec: ModelSpec): ParamShape[] {
  return modelEntry(spec)
    .shapes(spec)
    .map(({ name, shape }) => ({ name, shape }));
}

/** Total parameter count of a spec. */
export function paramCount(spec: ModelSpec): number {
  return layoutSize(modelEntry(spec).shapes(spec));
}

/** Seeded initial weights: the same spec and seed give the same bytes on every machine. */
export function initWeights(spec: ModelSpec, seed: number): Float32Array {
  const shapes = modelEntry(spec).shapes(spec);
  const out = new Float32Array(layoutSize(shapes));
  fillParams(shapes, seed, out);
  return out;
}

/** Input features a spec expects per example (flattened). */
export function inputSize(spec: ModelSpec): number {
  return modelEntry(spec).inputSize(spec);
}

/** The classes a classifier predicts; undefined for a generative model (gan), which ignores labels. */
export function outputClasses(spec: ModelSpec): number | undefined {
  return modelEntry(spec).outputClasses(spec);
}

/** Whether `spec` is a regression model: real-valued outputs against the data's targets, no classes (an MLP with loss mse). */
export function isRegression(spec: ModelSpec): boolean {
  return modelEntry(spec).regression?.(spec) ?? false;
}

/** With token inputs: the vocabulary size (every feature an id below it); undefined for real-valued inputs. */
export function vocabulary(spec: ModelSpec): number | undefined {
  return modelEntry(spec).vocabulary?.(spec);
}

/** A spec in words for messages: its JSON, or for a tfjs model (whose topology is too long to quote) a summary. */
export function describeSpec(spec: ModelSpec): string {
  return spec.type === 'tfjs' ? describeTfjsSpec(spec) : JSON.stringify(spec);
}
