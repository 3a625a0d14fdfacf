/**
 * What each layer of a tfjs topology makes of its input, derived from the topology JSON
 * alone, before tfjs builds anything: its output shape, its weights (names and shapes)
 * and the multiply-adds one example costs it. A spec's topology comes from a peer, so a
 * client builds it only when every layer is of a class below, the weights derived here
 * are exactly the spec's weight list, and no layer's output nor the model's work per
 * example passes LAYER_LIMITS: building and running the model then costs what its spec
 * declares. The configs read are in the form tfjs reads them (camelCase keys and string
 * values: tfjs-layer-graph.ts tfjsForm); the rules, class by class: tfjs-layer-rules.ts.
 */
import { sizeOf } from '../weights.ts';
import { cut, type Derived, Refusal, RULES, type Shape, show } from './tfjs-layer-rules.ts';

/** Caps on a topology's layers, its layers' outputs and its cost per example. */
export const LAYER_LIMITS = {
  /** Layers in the model. */
  maxLayers: 1_000,
  /** Values one layer outputs (and the model takes) per example. */
  maxOutput: 2 ** 22,
  /** Multiply-adds (or comparable operations) of all layers together, per example. */
  maxWork: 2 ** 34,
} as const;

/** A layer of the model, its inputs given as the indices of earlier layers (none: the model's input). */
export interface LayerNode {
  readonly name: string;
  readonly className: string;
  readonly config: Record<string, unknown>;
  readonly inputs: readonly number[];
}

export interface WeightShape {
  readonly name: string;
  readonly shape: readonly number[];
}

export interface DerivedModel {
  /** Every layer's weights, named as tfjs names them (`layer/kernel`), layer by layer. */
  readonly weights: readonly WeightShape[];
  /** One example's output shape at each layer, in order. */
  readonly shapes: readonly Shape[];
  /** One example's output shape at the output layer. */
  readonly output: Shape;
  /** Multiply-adds per example, all layers together. */
  readonly work: number;
}

export const TFJS_LAYER_CLASSES: readonly string[] = ['InputLayer', ...RULES.keys()];

/**
 * Every layer's output shape and weights, in order (a layer's inputs come before it),
 * from the model's input shape; or why the model is refused. InputLayer nodes (the
 * caller allows only the model's input to be one) output the input shape.
 */
export function deriveModel(nodes: readonly LayerNode[], inputShape: Shape, output: number): DerivedModel | string {
  const L = LAYER_LIMITS;
  if (!(sizeOf(inputShape) <= L.maxOutput)) return `the model takes inputs of ${sizeOf(inputShape)} values per example; at most ${L.maxOutput}`;
  const shapes: Shape[] = [];
  const weights: WeightShape[] = [];
  const names = new Set<string>();
  let work = 0;
  for (const node of nodes) {
    const at = `layer ${show(node.name)} (${cut(node.className)})`;
    const rule = RULES.get(node.className);
    if (!rule && node.className !== 'InputLayer') {
      return `${at}: Starling does not build ${cut(node.className)} layers from a peer's topology (it builds ${TFJS_LAYER_CLASSES.join(', ')})`;
    }
    let out: Derived;
    try {
      out = rule ? rule(node.config, node.inputs.length ? node.inputs.map((i) => shapes[i]!) : [inputShape]) : { shape: [...inputShape] };
    } catch (e) {
      if (e instanceof Refusal) return `${at}: ${e.message}`;
      throw e;
    }
    const size = sizeOf(out.shape);
    if (!(size <= L.maxOutput)) return `${at} outputs [${out.shape.join(', ')}] per example, ${size} values; at most ${L.maxOutput}`;
    work += out.work ?? size;
    if (!(work <= L.maxWork)) return `the layers up to ${at} cost more than ${L.maxWork} multiply-adds per example`;
    for (const [leaf, shape] of out.weights ?? []) {
      const name = `${node.name}/${leaf}`;
      if (names.has(name)) return `${at}: two weights are named ${name}`;
      names.add(name);
      weights.push({ name, shape });
    }
    shapes.push(out.shape);
  }
  return { weights, shapes, output: shapes[output]!, work };
}

/** Where the spec's weight list differs from the weights its topology's layers have, or undefined. */
export function weightListProblem(derived: readonly WeightShape[], listed: readonly WeightShape[]): string | undefined {
  const byName = new Map(derived.map((w) => [w.name, w.shape]));
  const seen = new Set<string>();
  const few = (names: string[]) => (names.length > 12 ? `${names.slice(0, 12).join(', ')}, … (${names.length} in all)` : names.join(', ') || 'none');
  for (const w of listed) {
    const shape = byName.get(w.name);
    if (!shape) return `the spec lists weight ${w.name}, which the topology's layers do not have (they have ${few([...byName.keys()])})`;
    if (seen.has(w.name)) return `the spec lists weight ${w.name} twice`;
    seen.add(w.name);
    if (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i])) {
      return `weight ${w.name} has shape [${shape.join(', ')}] in the topology, [${w.shape.join(', ')}] in the spec`;
    }
  }
  const missing = derived.filter((w) => !seen.has(w.name)).map((w) => w.name);
  return missing.length ? `the spec does not list the topology's weights ${few(missing)}` : undefined;
}
