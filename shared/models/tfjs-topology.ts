/**
 * Reading a tfjs / Keras layers-model topology (the `modelTopology` JSON that
 * `model.save` writes) without tfjs: bounding its size and shape, so it can travel in
 * every task, and reading it as tfjs-layers will (tfjsForm) to find what Starling needs
 * before any engine builds it — the input shape, the number of classes, whether the model
 * ends in a softmax, and every layer's weights and output shape (tfjs-layer-shapes.ts),
 * which a spec's weight list must match. A topology comes from a peer: what it makes
 * tfjs allocate or compute is known, and bounded, before tfjs sees it. The engine checks
 * these against the model it builds (tfjs-nets/layers-model-build.ts).
 */
import { MAX_CLASSES } from '../data/dataset.ts';
import { inputShapeOf, isPlainObject, type Layer, readGraph, tfjsForm } from './tfjs-layer-graph.ts';
import { cut, show } from './tfjs-layer-rules.ts';
import { deriveModel, type LayerNode, type WeightShape } from './tfjs-layer-shapes.ts';

export { isPlainObject, tfjsForm };

/**
 * Bounds on a topology. A spec travels in every fit and evaluate task, which clients
 * decode under the protocol's default shape limits (1,000,000 values, containers of
 * 100,000, nesting 16 deep with the topology starting at depth 3, strings of 64 KiB):
 * these keep the topology well inside them, room left for the rest of the task.
 */
export const TOPOLOGY_LIMITS = {
  /** Characters of the topology serialized as JSON. */
  maxChars: 4 * 1024 * 1024,
  /** Nesting of objects and arrays, the topology itself at depth 1. */
  maxDepth: 12,
  /** Values in all (every scalar, object, array and key). */
  maxValues: 400_000,
  /** Entries of one object or array. */
  maxContainer: 65_536,
  /** Bytes of one string (UTF-8). */
  maxString: 64 * 1024,
} as const;

/** Keys that would reach an object's prototype; never part of a topology. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * What makes `topology` unfit to be a spec's topology — not plain JSON, or past one of
 * TOPOLOGY_LIMITS — or undefined. The walk stops at the first problem, so a huge or
 * cyclic object costs no more than the limits allow.
 */
export function topologyBoundsProblem(topology: unknown): string | undefined {
  if (!isPlainObject(topology)) return 'must be a JSON object (the modelTopology of a tfjs layers model)';
  // a spec is checked more than once as it is parsed; the answer for one object does not change
  const known = boundsChecked.get(topology);
  if (known !== undefined) return known || undefined;
  const problem = boundsProblem(topology);
  boundsChecked.set(topology, problem ?? '');
  return problem;
}

const boundsChecked = new WeakMap<object, string>();

function boundsProblem(topology: Record<string, unknown>): string | undefined {
  const L = TOPOLOGY_LIMITS;
  let values = 0;
  let chars = 0;
  const walk = (v: unknown, depth: number, at: string): string | undefined => {
    if (++values > L.maxValues) return `holds more than ${L.maxValues} values`;
    if (v === null || typeof v === 'boolean') chars += v === null || v ? 4 : 5;
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${at}: ${v} is not a JSON number`;
      chars += String(v).length;
    } else if (typeof v === 'string') {
      if (v.length > L.maxString || Buffer.byteLength(v) > L.maxString) return `${at}: a string longer than ${L.maxString} bytes`;
      chars += JSON.stringify(v).length;
    } else if (Array.isArray(v) || isPlainObject(v)) {
      if (depth > L.maxDepth) return `nests deeper than ${L.maxDepth} levels (at ${at})`;
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
      if (entries.length > L.maxContainer) return `${at}: more than ${L.maxContainer} entries`;
      chars += 2 + Math.max(0, entries.length - 1);
      for (const [k, x] of entries) {
        if (!Array.isArray(v)) {
          if (PROTOTYPE_KEYS.has(k)) return `${at}: the key "${k}" is not allowed`;
          if (x === undefined) continue;
          values++;
          chars += JSON.stringify(k).length + 1;
        }
        const problem = walk(x, depth + 1, `${at}.${k}`);
        if (problem) return problem;
      }
    } else return `${at}: a ${typeof v} is not JSON`;
    return chars > L.maxChars ? `is larger than ${L.maxChars} characters as JSON` : undefined;
  };
  return walk(topology, 1, 'topology');
}

/** What Starling reads from a topology. */
export interface TopologyInfo {
  /** The model's class: Sequential, Model or Functional. */
  readonly className: string;
  readonly layers: number;
  /** One example's input shape (the batch dimension left out). */
  readonly inputShape: readonly number[];
  /** The classes the classifier predicts: the units of its last Dense layer. */
  readonly classes: number;
  /** softmax output: probabilities; linear output: logits. */
  readonly output: 'probabilities' | 'logits';
  /** The weights the model's layers have, as tfjs names and shapes them: a spec lists exactly these. */
  readonly weights: readonly WeightShape[];
}

/** The most classes a tfjs classifier may have: a label is one byte. */
export const MAX_TFJS_CLASSES = MAX_CLASSES;

type Obj = Record<string, unknown>;

/** Layers that leave their input's shape and activation as they are. */
const PASS_THROUGH = new Set(['Dropout', 'AlphaDropout', 'GaussianDropout', 'GaussianNoise', 'SpatialDropout1D', 'BatchNormalization', 'LayerNormalization']);
/** Activation layers, each with the activation it applies (Activation reads its config). */
const ACTIVATION_LAYERS: Record<string, string | undefined> = {
  Activation: undefined,
  Softmax: 'softmax',
  ReLU: 'relu',
  LeakyReLU: 'leakyRelu',
  ELU: 'elu',
  PReLU: 'prelu',
  ThresholdedReLU: 'thresholdedRelu',
};

const cache = new WeakMap<object, TopologyInfo | string>();

/**
 * The input shape, classes, output kind and weights of a (bounded) topology, or what
 * keeps Starling from reading or building it. Classes come from the last Dense layer,
 * possibly followed by activation, dropout or normalization layers; its activation must
 * be softmax (the output is probabilities) or linear (logits).
 */
export function analyseTopology(topology: Obj): TopologyInfo | string {
  let info = cache.get(topology);
  if (info === undefined) {
    info = analyse(topology);
    cache.set(topology, info);
  }
  return info;
}

function analyse(topology: Obj): TopologyInfo | string {
  const model = tfjsForm(topology);
  if (typeof model === 'string') return model;
  const className = model.className;
  if (typeof className !== 'string') return 'has no class_name (expected Sequential, Model or Functional)';
  const graph = readGraph(className, model.config);
  if (typeof graph === 'string') return graph;
  const { layers } = graph;
  const inputShape = inputShapeOf(layers[graph.input]!);
  if (typeof inputShape === 'string') return inputShape;
  const out = outputOf(layers, graph.nodes, graph.output);
  if (typeof out === 'string') return out;
  const derived = deriveModel(graph.nodes, inputShape, graph.output);
  if (typeof derived === 'string') return derived;
  if (derived.output.length !== 1 || derived.output[0] !== out.classes) {
    return `the model's output has shape [${derived.output.join(', ')}] per example; a classifier of ${out.classes} classes gives [${out.classes}]`;
  }
  return { className, layers: layers.length, inputShape, ...out, weights: derived.weights };
}

/** Walks back from the output layer to the Dense layer that sets the classes, noting the activation nearest the output. */
function outputOf(layers: readonly Layer[], nodes: readonly LayerNode[], output: number): Pick<TopologyInfo, 'classes' | 'output'> | string {
  let activation: string | undefined;
  for (let i = output; ; ) {
    const { className: cls, config, name } = layers[i]!;
    const named = (key: string) => (config[key] == null ? 'linear' : typeof config[key] === 'string' ? config[key] : undefined);
    if (cls === 'Dense') {
      const units = config.units;
      if (!Number.isInteger(units) || (units as number) < 2) return `the output layer ${name} has ${show(units)} units; a classifier needs at least 2`;
      if ((units as number) > MAX_TFJS_CLASSES) {
        return `the output layer ${name} has ${units} units; Starling's labels are one byte: at most ${MAX_TFJS_CLASSES} classes`;
      }
      activation ??= named('activation');
      if (activation !== 'softmax' && activation !== 'linear') {
        const which = activation === undefined ? show(config.activation) : cut(activation);
        return `the model's output activation is ${which}; Starling trains classifiers whose output is softmax probabilities or linear logits`;
      }
      return { classes: units as number, output: activation === 'softmax' ? 'probabilities' : 'logits' };
    }
    if (Object.hasOwn(ACTIVATION_LAYERS, cls)) activation ??= ACTIVATION_LAYERS[cls] ?? named('activation');
    else if (!PASS_THROUGH.has(cls)) {
      return (
        `the output comes from ${name}, a ${cls} layer: Starling reads a classifier's classes from its last Dense layer ` +
        '(optionally followed by Activation, Softmax, Dropout or normalization layers)'
      );
    }
    const inputs = nodes[i]!.inputs;
    if (inputs.length !== 1) return inputs.length === 0 ? `${name} is the first layer` : `${name} takes ${inputs.length} inputs, not one`;
    i = inputs[0]!;
  }
}
