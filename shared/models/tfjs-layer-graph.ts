/**
 * A topology as tfjs-layers reads it: its keys and values in tfjs' own form, its layers,
 * and the graph that connects them (which layer takes which layers' outputs), checked
 * before tfjs sees it — tfjs loops forever on a call of a layer that does not exist, and
 * builds the weights of layers that lead nowhere. Shapes and weights: tfjs-layer-shapes.ts.
 */
import { cut, show, tfjsCamelCase } from './tfjs-layer-rules.ts';
import { LAYER_LIMITS, type LayerNode } from './tfjs-layer-shapes.ts';

type Obj = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Keys whose lists start with a layer name that tfjs leaves as it is. */
const LAYER_REFS = new Set(['inboundNodes', 'inputLayers', 'outputLayers']);

/**
 * The model config as tfjs-layers' modelFromJSON reads it: `model_config` unwrapped,
 * every key and string value camel-cased as tfjs does (`name` values and the layer names
 * that start node references kept), in a fresh copy. Two keys of one object that tfjs
 * reads as one (`pool_size` and `poolSize`) are refused: tfjs would take the last.
 * tfjs reading the copy again changes nothing. With `zeroInit`, every initializer is
 * Zeros: a built model's weights are loaded from the flat vector, so no initializer
 * need run (an Orthogonal one on a large kernel costs seconds).
 */
export function tfjsForm(topology: Obj, zeroInit = false): Obj | string {
  const model = topology.model_config != null ? topology.model_config : topology;
  if (!isPlainObject(model)) return 'model_config must be a JSON object';
  let problem: string | undefined;
  const convert = (v: unknown, key: string, at: string): unknown => {
    if (typeof v === 'string') return tfjsCamelCase(v);
    if (Array.isArray(v)) return v.map((x, i) => (i === 0 && typeof x === 'string' && LAYER_REFS.has(key) ? x : convert(x, key, `${at}.${i}`)));
    if (!isPlainObject(v)) return v;
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      const tk = k === 'name' && typeof x === 'string' ? k : tfjsCamelCase(k);
      if (Object.hasOwn(out, tk)) problem ??= `${at}: two keys read as ${tk} (tfjs would take the last)`;
      out[tk] =
        tk === 'name' && typeof x === 'string' ? x : zeroInit && tk.endsWith('Initializer') ? { className: 'Zeros', config: {} } : convert(x, tk, `${at}.${k}`);
    }
    return out;
  };
  const form = convert(model, '', 'topology') as Obj;
  return problem ?? form;
}

/** A layer entry of the topology (in tfjs' form). */
export interface Layer {
  readonly name: string;
  readonly className: string;
  readonly config: Obj;
  readonly entry: Obj;
}

const describeLayer = (l: Layer) => `${show(l.name)} (${cut(l.className)})`;

/** The layers of a model config (in tfjs' form) and how they connect, or the problem. */
export function readGraph(className: string, config: unknown): Graph | string {
  const list = Array.isArray(config) ? config : isPlainObject(config) ? config.layers : undefined;
  if (!Array.isArray(list) || list.length === 0) return 'lists no layers (config.layers)';
  if (list.length > LAYER_LIMITS.maxLayers) return `has ${list.length} layers; at most ${LAYER_LIMITS.maxLayers}`;
  const layers = readLayers(list);
  if (typeof layers === 'string') return layers;
  return className === 'Sequential' ? sequential(layers) : functional(className, isPlainObject(config) ? config : {}, layers);
}

/** The layer entries, each with the name tfjs gives it and its weights (unique), or the problem. */
function readLayers(list: unknown[]): Layer[] | string {
  const names = new Set<string>();
  const layers: Layer[] = [];
  for (const [i, entry] of list.entries()) {
    if (!isPlainObject(entry) || typeof entry.className !== 'string' || !isPlainObject(entry.config)) {
      return `config.layers[${i}] must be a layer: { class_name, config }`;
    }
    const name = entry.config.name;
    if (typeof name !== 'string' || name === '') return `config.layers[${i}] (${cut(entry.className)}) has no name: tfjs would name its weights at random`;
    if (entry.name !== undefined && entry.name !== name) return `config.layers[${i}] is named ${show(entry.name)} and ${show(name)}`;
    if (names.has(name)) return `two layers are named ${show(name)}`;
    names.add(name);
    layers.push({ name, className: entry.className, config: entry.config, entry });
  }
  return layers;
}

export interface Graph {
  readonly layers: readonly Layer[];
  readonly nodes: readonly LayerNode[];
  /** The indices of the input and output layers. */
  readonly input: number;
  readonly output: number;
}

const node = (l: Layer, inputs: number[]): LayerNode => ({ name: l.name, className: l.className, config: l.config, inputs });

/** Each layer takes the one before it; the first, the model's input (it may be an InputLayer). */
function sequential(layers: Layer[]): Graph | string {
  const stray = layers.findIndex((l, i) => i > 0 && l.className === 'InputLayer');
  if (stray > 0) return `${describeLayer(layers[stray]!)} is an input layer after the first layer`;
  return { layers, nodes: layers.map((l, i) => node(l, i === 0 ? [] : [i - 1])), input: 0, output: layers.length - 1 };
}

/** The layers and the calls that connect them: one input layer, each other layer called once on layers listed before it, all leading to the output. */
function functional(className: string, config: Obj, layers: Layer[]): Graph | string {
  if (className !== 'Model' && className !== 'Functional') return `class_name ${show(className)} is not Sequential, Model or Functional`;
  // tfjs finds a functional model's layers by the name beside each config: without it, a call of the layer would wait forever
  const unnamed = layers.find((l) => l.entry.name !== l.name);
  if (unnamed) return `${describeLayer(unnamed)} must carry its name beside its config, as tfjs reads it`;
  const index = new Map(layers.map((l, i) => [l.name, i]));
  const only = (key: 'inputLayers' | 'outputLayers', snake: string): number | string => {
    const refs = config[key];
    if (!Array.isArray(refs) || refs.length !== 1 || typeof refs[0] === 'string') {
      const flat = Array.isArray(refs) && typeof refs[0] === 'string' ? ` (tfjs reads one as [[name, 0, 0]], not ${show(refs)})` : '';
      return `config.${snake} must name exactly one layer${flat} (Starling trains models with one input and one output)`;
    }
    const [name, nodeIndex, tensorIndex] = Array.isArray(refs[0]) ? refs[0] : [];
    const at = typeof name === 'string' ? index.get(name) : undefined;
    if (at === undefined) return `config.${snake} names ${show(name)}, which is not one of the layers`;
    return nodeIndex === 0 && tensorIndex === 0 ? at : `config.${snake} must name output 0 of call 0 of its layer`;
  };
  const input = only('inputLayers', 'input_layers');
  if (typeof input === 'string') return input;
  const output = only('outputLayers', 'output_layers');
  if (typeof output === 'string') return output;
  if (layers[input]!.className !== 'InputLayer') return `config.input_layers names ${describeLayer(layers[input]!)}, not an InputLayer`;
  const nodes: LayerNode[] = [];
  for (const [i, l] of layers.entries()) {
    const calls = l.entry.inboundNodes;
    if (i === input && (!Array.isArray(calls) || calls.length > 0)) return `the input layer ${describeLayer(l)} must have no inbound_nodes`;
    const inputs = i === input ? [] : inboundOf(l, i, index);
    if (typeof inputs === 'string') return inputs;
    if (i !== input && l.className === 'InputLayer') return `${describeLayer(l)} is a second input layer (Starling trains models with one input)`;
    nodes.push(node(l, inputs));
  }
  // every layer must lead to the output: tfjs would build the weights of the others too, outside the model's list
  const used = layers.map((_, i) => i === output);
  for (let i = layers.length - 1; i >= 0; i--) for (const j of used[i] ? nodes[i]!.inputs : []) used[j] = true;
  const unused = used.indexOf(false);
  if (unused >= 0) return `${describeLayer(layers[unused]!)} does not lead to the model's output`;
  return { layers, nodes, input, output };
}

/** The indices of the layers whose outputs a functional model's layer takes, from its one call (tfjs' form of inbound_nodes). */
function inboundOf(l: Layer, at: number, index: Map<string, number>): number[] | string {
  const calls = l.entry.inboundNodes;
  if (!Array.isArray(calls) || calls.length !== 1) {
    const n = Array.isArray(calls) ? calls.length : 0;
    return `${describeLayer(l)} is called ${n} times: Starling builds models whose layers but the input are each called once`;
  }
  const call = calls[0];
  if (!Array.isArray(call) || call.length === 0) return `${describeLayer(l)}: its inbound node must list [layer, node, tensor, kwargs] (the form tfjs reads)`;
  const inputs: number[] = [];
  for (const ref of call) {
    const [name, nodeIndex, tensorIndex, kwargs] = Array.isArray(ref) ? ref : [];
    const from = typeof name === 'string' ? index.get(name) : undefined;
    if (from === undefined) return `${describeLayer(l)} takes the output of ${show(name)}, which is not one of the layers`;
    if (from >= at) return `${describeLayer(l)} takes the output of ${show(name)}, which comes after it in config.layers`;
    if (nodeIndex !== 0 || tensorIndex !== 0) return `${describeLayer(l)} must take output 0 of call 0 of ${show(name)}`;
    const plain = kwargs == null || (isPlainObject(kwargs) && Object.keys(kwargs).every((k) => k === 'training' && typeof kwargs[k] === 'boolean'));
    if (!plain) return `${describeLayer(l)} is called with arguments ${show(kwargs)}; Starling builds plain calls`;
    inputs.push(from);
  }
  return inputs;
}

/** One example's input shape, read as tfjs reads it from the input layer (or a Sequential's first layer). */
export function inputShapeOf(l: Layer): number[] | string {
  const c = l.config;
  const fixed = `the input layer ${describeLayer(l)} fixes the batch size; Starling trains in batches of every size`;
  let dims: unknown;
  if (c.batchInputShape != null) {
    if (!Array.isArray(c.batchInputShape)) return `the input layer ${describeLayer(l)} has batch_input_shape ${show(c.batchInputShape)}`;
    if (c.batchInputShape[0] != null) return fixed;
    dims = c.batchInputShape.slice(1);
  } else if (c.batchSize != null) return fixed;
  else if (c.inputShape != null) dims = c.inputShape;
  else if (l.className === 'Dense' && c.inputDim != null) dims = [c.inputDim];
  else if (l.className === 'Embedding' && c.inputLength != null) dims = Array.isArray(c.inputLength) ? c.inputLength : [c.inputLength];
  else {
    const keras3 = c.batchShape != null ? ' (tfjs-layers does not read batch_shape, as Keras 3 writes it)' : '';
    return `the input layer ${describeLayer(l)} gives no batch_input_shape${keras3} (build the model with an input shape before saving it)`;
  }
  if (!Array.isArray(dims) || dims.length === 0 || !dims.every((d) => Number.isInteger(d) && (d as number) > 0)) {
    return `the input layer ${describeLayer(l)} has shape ${show(dims)}: every dimension but the batch must be a positive integer`;
  }
  return dims as number[];
}
