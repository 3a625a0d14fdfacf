import { z } from 'zod';
import { DataError } from '../errors.ts';
import { sizeOf } from '../weights.ts';
import type { InitRule, InitShape } from './init.ts';
import type { ModelEntry } from './model.ts';
import { weightListProblem } from './tfjs-layer-shapes.ts';
import { analyseTopology, type TopologyInfo, topologyBoundsProblem } from './tfjs-topology.ts';

/**
 * A user's own tfjs layers model (Sequential or functional, built in code or saved by
 * `model.save`), as a spec: its topology JSON and its weight list, so it travels to
 * clients like every other spec and each engine that runs it (tfjs) rebuilds it there.
 * The flat weights are its weights concatenated in the list's order (model.weights
 * order for a model saved by tfjs); parameter names are the tfjs weight names
 * (`dense_1/kernel`), so freezing a layer by name works as for Starling's own models.
 * Reading model.json files is tfjs-layers-file.ts; a model object, tfjs-layers-api.ts.
 */

/** The losses a tfjs model may train with: its compiled loss when it has one, else categorical cross-entropy. */
export const TFJS_LOSSES = ['categoricalCrossentropy', 'meanSquaredError'] as const;
export type TfjsLoss = (typeof TFJS_LOSSES)[number];

/** The most weights a tfjs spec may list, and the most values they may hold together. */
export const MAX_TFJS_WEIGHTS = 10_000;
export const MAX_TFJS_PARAMS = 2 ** 28;

const topologySchema = z.custom<Record<string, unknown>>().superRefine((topology, ctx) => {
  const problem = topologyBoundsProblem(topology);
  if (problem) ctx.addIssue({ code: 'custom', message: `the model topology ${problem}` });
});

const weightSchema = z.strictObject({
  name: z.string().min(1).max(256),
  shape: z
    .array(
      z
        .number()
        .int()
        .min(1)
        .max(2 ** 31 - 1),
    )
    .max(8),
});

export const tfjsLayersSpecSchema = z
  .strictObject({
    type: z.literal('tfjs'),
    /** The Keras / tfjs model config: `{ class_name, config }` (a whole `modelTopology` with `model_config` is read too). */
    topology: topologySchema,
    /** The model's weights in flat order, named as tfjs names them. */
    weights: z.array(weightSchema).min(1).max(MAX_TFJS_WEIGHTS),
    loss: z.enum(TFJS_LOSSES).default('categoricalCrossentropy'),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    let total = 0;
    let twice = false;
    for (const [i, w] of spec.weights.entries()) {
      if (seen.has(w.name)) ctx.addIssue({ code: 'custom', path: ['weights', i, 'name'], message: `${w.name} is listed twice` });
      twice ||= seen.has(w.name);
      seen.add(w.name);
      total += sizeOf(w.shape);
    }
    if (total > MAX_TFJS_PARAMS) ctx.addIssue({ code: 'custom', path: ['weights'], message: `${total} parameters; at most ${MAX_TFJS_PARAMS}` });
    // the topology's own issue (not JSON, too large) is reported by its schema
    if (topologyBoundsProblem(spec.topology)) return;
    const info = analyseTopology(spec.topology);
    if (typeof info === 'string') ctx.addIssue({ code: 'custom', path: ['topology'], message: `the model topology: ${info}` });
    else if (!twice) {
      const problem = weightListProblem(info.weights, spec.weights);
      if (problem) ctx.addIssue({ code: 'custom', path: ['weights'], message: problem });
    }
  });
export type TfjsLayersSpec = z.infer<typeof tfjsLayersSpecSchema>;

/**
 * What keeps a spec from being built, checked without tfjs as the schema checks it: a
 * topology past its bounds, one Starling cannot read or build, or a weight list other
 * than the weights its layers have. For an engine handed a spec from a peer.
 */
export function tfjsSpecProblem(spec: TfjsLayersSpec): string | undefined {
  const bounds = topologyBoundsProblem(spec.topology);
  if (bounds) return `the model topology ${bounds}`;
  const info = analyseTopology(spec.topology);
  return typeof info === 'string' ? `the model topology: ${info}` : weightListProblem(info.weights, spec.weights);
}

/** What the topology of a spec says (the schema has checked that it can be read: a DataError for one that has not). */
export function topologyInfo(spec: TfjsLayersSpec): TopologyInfo {
  const bounds = topologyBoundsProblem(spec.topology);
  const info = bounds ?? analyseTopology(spec.topology);
  if (typeof info === 'string') throw new DataError(`the tfjs model topology${bounds ? ' ' : ': '}${info}`);
  return info;
}

/**
 * The rule a weight would be initialised with if the model came without weights (its
 * own are the initial model otherwise): what Keras gives each kind of weight by default.
 */
function initRule(name: string, shape: readonly number[]): InitRule {
  const leaf = name.slice(name.lastIndexOf('/') + 1);
  if (leaf === 'gamma' || leaf === 'moving_variance') return 'ones';
  if (leaf === 'embeddings') return 'embedding';
  return shape.length >= 2 ? 'glorot' : 'zeros';
}

export function tfjsLayersShapes(spec: TfjsLayersSpec): InitShape[] {
  return spec.weights.map((w) => ({ name: w.name, shape: w.shape, init: initRule(w.name, w.shape) }));
}

export const tfjsLayers: ModelEntry<TfjsLayersSpec> = {
  type: 'tfjs',
  schema: tfjsLayersSpecSchema,
  shapes: tfjsLayersShapes,
  inputSize: (spec) => sizeOf(topologyInfo(spec).inputShape),
  outputClasses: (spec) => topologyInfo(spec).classes,
};

/** A short description for messages (a topology is too long to quote). */
export function describeTfjsSpec(spec: TfjsLayersSpec): string {
  const info = topologyInfo(spec);
  const params = spec.weights.reduce((n, w) => n + sizeOf(w.shape), 0);
  return `a tfjs ${info.className} model (${info.layers} layers, input [${info.inputShape.join(', ')}], ${info.classes} classes, ${params} parameters)`;
}
