/**
 * The rule of each layer class a tfjs spec may hold: from the layer's config (in tfjs'
 * form) and its inputs' shapes (one example's, the batch left out), its output shape,
 * its weights and its multiply-adds per example.
 *
 * Each rule mirrors tfjs-layers 4.22's own build / computeOutputShape. Settings whose
 * shapes are not derived here are refused rather than let through unchecked: the
 * channels_first data format, causal padding, strides and dilation both above 1, global
 * pooling with keepdims, recurrent layers with return_state or stateful, GRU with
 * reset_after, merges that broadcast, and every class not in the table (UpSampling2D,
 * RepeatVector, ZeroPadding2D, Permute, the transposed, separable and depthwise
 * convolutions, TimeDistributed, Bidirectional, nested models, …).
 */
import { sizeOf } from '../weights.ts';

/** tfjs' toCamelCase, which it applies to every key and string value of a topology. */
export const tfjsCamelCase = (s: string) => (s.length <= 1 || !s.includes('_') ? s : s.replace(/[_]+(\w|$)/g, (_, c: string) => c.toUpperCase()));

export type Shape = readonly number[];
type Config = Record<string, unknown>;
export interface Derived {
  readonly shape: number[];
  readonly weights?: readonly (readonly [string, number[]])[];
  /** Per example; the output's size when left out. */
  readonly work?: number;
}
type Rule = (c: Config, inputs: readonly Shape[]) => Derived;

/** Why a layer is refused; caught by deriveModel, which names the layer. */
export class Refusal extends Error {}
const refuse = (message: string): never => {
  throw new Refusal(message);
};

/** A string for a message, cut short: a topology's strings may be long. */
export const cut = (s: string) => (s.length > 80 ? `${s.slice(0, 77)}...` : s);
/** A value for a message, as JSON, cut short. */
export const show = (v: unknown) => cut(JSON.stringify(v) ?? String(v));
/** A setting, named as model.json names it, from a config in tfjs' form. */
const get = (c: Config, key: string): unknown => c[tfjsCamelCase(key)];

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 2 ** 31 - 1;

function count(c: Config, key: string, fallback?: number): number {
  const v = get(c, key);
  if (v == null && fallback !== undefined) return fallback;
  return isCount(v) ? v : refuse(`${key} must be a positive integer, not ${show(v)}`);
}

/** A positive integer or a list of `n` of them (one per spatial dimension). */
function counts(c: Config, key: string, n: number, fallback?: readonly number[]): number[] {
  const v = get(c, key);
  if (v == null && fallback) return [...fallback];
  if (isCount(v)) return new Array<number>(n).fill(v);
  if (Array.isArray(v) && v.length === n && v.every(isCount)) return v as number[];
  return refuse(`${key} must be a positive integer or a list of ${n}, not ${show(v)}`);
}

function flag(c: Config, key: string, fallback: boolean): boolean {
  const v = get(c, key);
  if (v == null) return fallback;
  return typeof v === 'boolean' ? v : refuse(`${key} must be true or false, not ${show(v)}`);
}

function padding(c: Config): 'valid' | 'same' {
  const v = get(c, 'padding') ?? 'valid';
  return v === 'valid' || v === 'same' ? v : refuse(`padding ${show(v)} is not one Starling derives shapes for (valid, same)`);
}

function channelsLast(c: Config): void {
  const v = get(c, 'data_format');
  if (v != null && v !== 'channelsLast') refuse(`data_format ${show(v)}: Starling derives shapes for channels_last only`);
}

function one(inputs: readonly Shape[], rank?: number): Shape {
  if (inputs.length !== 1) refuse(`takes ${inputs.length} inputs, not one`);
  const x = inputs[0]!;
  if (rank !== undefined && x.length !== rank) refuse(`takes inputs of ${rank} dimensions per example, not [${x.join(', ')}]`);
  return x;
}

/** tfjs' convOutputLength; a length below 1 is refused. */
function convLength(length: number, kernel: number, pad: 'valid' | 'same', stride: number, dilation = 1): number {
  const span = pad === 'same' ? length : length - (kernel + (kernel - 1) * (dilation - 1)) + 1;
  const out = Math.floor((span + stride - 1) / stride);
  return out >= 1 ? out : refuse(`its window (${kernel}, dilation ${dilation}) is longer than its input (${length})`);
}

/** An axis in Keras' numbering (the batch is axis 0; negative counts from the end), as an index into one example's shape. */
function axisOf(v: unknown, rank: number, key: string): number {
  const a = Number.isInteger(v) ? (v as number) : refuse(`${key} must be an integer, not ${show(v)}`);
  const k = a < 0 ? a + rank + 1 : a;
  return k >= 1 && k <= rank ? k - 1 : refuse(`${key} ${a} is not an axis of an example of shape [${rank} dimensions]`);
}

const withBias = (c: Config, shape: number[]): (readonly [string, number[]])[] => (flag(c, 'use_bias', true) ? [['bias', shape]] : []);

const dense: Rule = (c, inputs) => {
  const x = one(inputs);
  const units = count(c, 'units');
  const last = x.at(-1)!;
  return { shape: [...x.slice(0, -1), units], weights: [['kernel', [last, units]], ...withBias(c, [units])], work: sizeOf(x) * units };
};

function conv(rank: 1 | 2): Rule {
  return (c, inputs) => {
    if (rank === 2) channelsLast(c);
    const x = one(inputs, rank + 1);
    const kernel = counts(c, 'kernel_size', rank);
    const strides = counts(c, 'strides', rank, [1, 1].slice(0, rank));
    const dilation = counts(c, 'dilation_rate', rank, [1, 1].slice(0, rank));
    if (strides.some((s) => s > 1) && dilation.some((d) => d > 1)) refuse('strides and dilation_rate are both above 1, which tfjs does not run');
    const pad = padding(c);
    const filters = count(c, 'filters');
    const channels = x[rank]!;
    const shape = [...x.slice(0, rank).map((n, i) => convLength(n, kernel[i]!, pad, strides[i]!, dilation[i]!)), filters];
    return { shape, weights: [['kernel', [...kernel, channels, filters]], ...withBias(c, [filters])], work: sizeOf(shape) * sizeOf(kernel) * channels };
  };
}

function pooling(rank: 1 | 2): Rule {
  return (c, inputs) => {
    if (rank === 2) channelsLast(c);
    const x = one(inputs, rank + 1);
    const pool = counts(c, 'pool_size', rank, [2, 2].slice(0, rank));
    const strides = counts(c, 'strides', rank, pool);
    const pad = padding(c);
    const shape = [...x.slice(0, rank).map((n, i) => convLength(n, pool[i]!, pad, strides[i]!)), x[rank]!];
    return { shape, work: sizeOf(shape) * sizeOf(pool) };
  };
}

function globalPooling(rank: 1 | 2): Rule {
  return (c, inputs) => {
    if (rank === 2) channelsLast(c);
    if (flag(c, 'keepdims', false)) refuse('keepdims is not supported');
    const x = one(inputs, rank + 1);
    return { shape: [x[rank]!], work: sizeOf(x) };
  };
}

/** Recurrent layers: SimpleRNN (1 gate), GRU (3), LSTM (4). */
function recurrent(gates: number): Rule {
  return (c, inputs) => {
    const [steps, features] = one(inputs, 2) as [number, number];
    if (flag(c, 'return_state', false) || flag(c, 'stateful', false)) refuse('return_state and stateful are not supported');
    if (flag(c, 'reset_after', false)) refuse('reset_after is not supported (nor built by tfjs)');
    const units = count(c, 'units');
    const g = gates * units;
    const weights: (readonly [string, number[]])[] = [['kernel', [features, g]], ['recurrent_kernel', [units, g]], ...withBias(c, [g])];
    return { shape: flag(c, 'return_sequences', false) ? [steps, units] : [units], weights, work: steps * (features + units + 1) * g };
  };
}

const same: Rule = (_, inputs) => ({ shape: [...one(inputs)] });

const prelu: Rule = (c, inputs) => {
  const x = one(inputs);
  const shared = get(c, 'shared_axes');
  const alpha = [...x];
  // tfjs counts these axes from 1 (the batch is 0) and reads no negative ones
  for (const a of shared == null ? [] : Array.isArray(shared) ? shared : [shared]) {
    if (!Number.isInteger(a) || a < 1 || a > x.length) refuse(`shared_axes ${show(shared)}: each must be an axis from 1 to ${x.length}`);
    alpha[a - 1] = 1;
  }
  return { shape: [...x], weights: [['alpha', alpha]] };
};

const flatten: Rule = (_, inputs) => {
  const x = one(inputs);
  if (x.length < 2) refuse(`takes inputs of 2 or more dimensions per example, not [${x.join(', ')}]`);
  return { shape: [sizeOf(x)] };
};

/** A -1 in target_shape is refused: tfjs leaves that dimension unknown to the layers after it, which then do not build. */
const reshape: Rule = (c, inputs) => {
  const x = one(inputs);
  const target = get(c, 'target_shape');
  if (!Array.isArray(target) || target.length === 0 || !target.every(isCount)) {
    return refuse(`target_shape must list every dimension as a positive integer, not ${show(target)}`);
  }
  if (sizeOf(target) !== sizeOf(x)) refuse(`cannot reshape [${x.join(', ')}] to [${target.join(', ')}]`);
  return { shape: [...target] };
};

const batchNormalization: Rule = (c, inputs) => {
  const x = one(inputs);
  const axis = get(c, 'axis') ?? -1;
  const dim = x[axisOf(Array.isArray(axis) && axis.length === 1 ? axis[0] : axis, x.length, 'axis')]!;
  const weights = [...(flag(c, 'scale', true) ? ['gamma'] : []), ...(flag(c, 'center', true) ? ['beta'] : []), 'moving_mean', 'moving_variance'];
  return { shape: [...x], weights: weights.map((w) => [w, [dim]] as const), work: 2 * sizeOf(x) };
};

const layerNormalization: Rule = (c, inputs) => {
  const x = one(inputs);
  const axis = get(c, 'axis') ?? -1;
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => axisOf(a, x.length, 'axis'));
  if (new Set(axes).size !== axes.length) refuse(`axis ${show(axis)} names an axis twice`);
  const param = axes.map((a) => x[a]!);
  const weights = [...(flag(c, 'scale', true) ? ['gamma'] : []), ...(flag(c, 'center', true) ? ['beta'] : [])];
  return { shape: [...x], weights: weights.map((w) => [w, param] as const), work: 4 * sizeOf(x) };
};

const embedding: Rule = (c, inputs) => {
  const x = one(inputs);
  const inputDim = count(c, 'input_dim');
  const outputDim = count(c, 'output_dim');
  const length = get(c, 'input_length');
  if (length != null) {
    const lengths = Array.isArray(length) ? length : [length];
    if (lengths.length !== x.length || lengths.some((l, i) => l != null && l !== x[i]))
      refuse(`input_length ${show(length)} does not fit its input [${x.join(', ')}]`);
  }
  const shape = [...x, outputDim];
  return { shape, weights: [['embeddings', [inputDim, outputDim]]] };
};

/** Add, Multiply, Average, Maximum, Minimum: inputs of one shape (no broadcasting). */
const elementwise: Rule = (_, inputs) => {
  if (inputs.length < 2) refuse(`takes ${inputs.length} input; a merge takes 2 or more`);
  const x = inputs[0]!;
  if (inputs.some((s) => s.length !== x.length || s.some((d, i) => d !== x[i])))
    refuse(`takes inputs of different shapes (${inputs.map((s) => `[${s.join(', ')}]`).join(', ')})`);
  return { shape: [...x], work: sizeOf(x) * inputs.length };
};

const concatenate: Rule = (c, inputs) => {
  if (inputs.length < 2) refuse(`takes ${inputs.length} input; a merge takes 2 or more`);
  const x = inputs[0]!;
  const axis = axisOf(get(c, 'axis') ?? -1, x.length, 'axis');
  if (inputs.some((s) => s.length !== x.length || s.some((d, i) => i !== axis && d !== x[i]))) {
    refuse(`takes inputs that differ off its axis (${inputs.map((s) => `[${s.join(', ')}]`).join(', ')})`);
  }
  const shape = [...x];
  shape[axis] = inputs.reduce((n, s) => n + s[axis]!, 0);
  return { shape };
};

/** The layer classes a tfjs spec may hold (besides its InputLayer), each with its rule. */
export const RULES: ReadonlyMap<string, Rule> = new Map(
  Object.entries({
    Dense: dense,
    Conv1D: conv(1),
    Conv2D: conv(2),
    MaxPooling1D: pooling(1),
    AveragePooling1D: pooling(1),
    MaxPooling2D: pooling(2),
    AveragePooling2D: pooling(2),
    GlobalAveragePooling1D: globalPooling(1),
    GlobalMaxPooling1D: globalPooling(1),
    GlobalAveragePooling2D: globalPooling(2),
    GlobalMaxPooling2D: globalPooling(2),
    Flatten: flatten,
    Reshape: reshape,
    Embedding: embedding,
    SimpleRNN: recurrent(1),
    GRU: recurrent(3),
    LSTM: recurrent(4),
    BatchNormalization: batchNormalization,
    LayerNormalization: layerNormalization,
    Activation: same,
    Softmax: same,
    ReLU: same,
    LeakyReLU: same,
    ELU: same,
    ThresholdedReLU: same,
    PReLU: prelu,
    Dropout: same,
    SpatialDropout1D: (c, inputs) => same(c, [one(inputs, 2)]),
    AlphaDropout: same,
    GaussianDropout: same,
    GaussianNoise: same,
    Add: elementwise,
    Multiply: elementwise,
    Average: elementwise,
    Maximum: elementwise,
    Minimum: elementwise,
    Concatenate: concatenate,
  } satisfies Record<string, Rule>),
);
