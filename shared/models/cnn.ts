import { z } from 'zod';
import { activationSchema, type Activation } from './activation.ts';
import type { InitShape } from './init.ts';
import type { ModelEntry } from './model.ts';

/** Convolution, stride 1: 'same' keeps the height and width (odd kernels), 'valid' shrinks them by kernel − 1. */
export const convLayerSchema = z.strictObject({
  type: z.literal('conv'),
  filters: z.number().int().positive().max(4096),
  kernel: z.number().int().positive().max(31),
  padding: z.enum(['same', 'valid']).default('same'),
  activation: activationSchema.default('relu'),
});
/** 2×2 max-pooling with stride 2. */
export const maxPoolLayerSchema = z.strictObject({ type: z.literal('maxpool'), size: z.literal(2).default(2) });
/** A fully connected layer; the first one flattens its input (height, width, channels order, as Keras). */
export const denseLayerSchema = z.strictObject({
  type: z.literal('dense'),
  units: z.number().int().positive().max(65536),
  activation: activationSchema.default('relu'),
  /** Inverted dropout after this layer while training (0 = none). */
  dropout: z.number().min(0).lt(1).optional(),
});
export const cnnLayerSchema = z.discriminatedUnion('type', [convLayerSchema, maxPoolLayerSchema, denseLayerSchema]);
export type CnnLayer = z.infer<typeof cnnLayerSchema>;

/**
 * A convolutional network on [height, width, channels] inputs (NHWC): conv / maxpool
 * layers, then dense layers, then a dense output of `outputs` classes (softmax in the loss).
 */
export const cnnSpecSchema = z
  .strictObject({
    type: z.literal('cnn'),
    input: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
    layers: z.array(cnnLayerSchema).max(64),
    outputs: z.number().int().min(2),
  })
  .superRefine((spec, ctx) => {
    const problem = cnnGeometryProblem(spec);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: ['layers', problem.layer] });
  });
export type CnnSpec = z.infer<typeof cnnSpecSchema>;

/** What is wrong with a CNN's shapes layer by layer, or undefined. */
function cnnGeometryProblem(spec: { input: readonly number[]; layers: readonly CnnLayer[] }): { layer: number; message: string } | undefined {
  let [h, w] = spec.input as [number, number, number];
  let flat = false;
  for (const [i, layer] of spec.layers.entries()) {
    if (layer.type === 'dense') {
      flat = true;
      continue;
    }
    if (flat) return { layer: i, message: `a ${layer.type} layer cannot follow a dense layer` };
    if (layer.type === 'conv') {
      if (layer.padding === 'same' && layer.kernel % 2 === 0) return { layer: i, message: `'same' padding needs an odd kernel, got ${layer.kernel}` };
      if (layer.padding === 'valid') {
        if (h < layer.kernel || w < layer.kernel)
          return { layer: i, message: `a ${layer.kernel}×${layer.kernel} 'valid' convolution does not fit a ${h}×${w} input` };
        h -= layer.kernel - 1;
        w -= layer.kernel - 1;
      }
    } else {
      if (h % 2 || w % 2) return { layer: i, message: `2×2 max-pooling needs an even height and width, got ${h}×${w}` };
      h /= 2;
      w /= 2;
    }
  }
  return undefined;
}

/**
 * A CNN's layers with their shapes resolved. Every layer maps an input of
 * [h, w, c] (or [n] once flattened) to an output; conv and dense layers carry
 * parameters, stored as Keras does: conv kernel [k, k, cIn, filters] then bias
 * [filters]; dense kernel [in, out] then bias [out].
 */
export type ResolvedLayer =
  | { kind: 'conv'; inH: number; inW: number; inC: number; outH: number; outW: number; filters: number; kernel: number; pad: number; activation: Activation }
  | { kind: 'maxpool'; inH: number; inW: number; inC: number; outH: number; outW: number }
  | { kind: 'dense'; inputs: number; units: number; activation: Activation | 'identity'; dropout: number };

/** The layers in order, the output layer last (dense, identity: softmax lives in the loss). */
export function resolveCnn(spec: CnnSpec): ResolvedLayer[] {
  let [h, w, c] = spec.input;
  let flat: number | undefined;
  const out: ResolvedLayer[] = [];
  for (const layer of spec.layers) {
    if (layer.type === 'conv') {
      const pad = layer.padding === 'same' ? (layer.kernel - 1) / 2 : 0;
      const outH = h + 2 * pad - layer.kernel + 1;
      const outW = w + 2 * pad - layer.kernel + 1;
      out.push({ kind: 'conv', inH: h, inW: w, inC: c, outH, outW, filters: layer.filters, kernel: layer.kernel, pad, activation: layer.activation });
      [h, w, c] = [outH, outW, layer.filters];
    } else if (layer.type === 'maxpool') {
      out.push({ kind: 'maxpool', inH: h, inW: w, inC: c, outH: h / 2, outW: w / 2 });
      [h, w] = [h / 2, w / 2];
    } else {
      const inputs = flat ?? h * w * c;
      out.push({ kind: 'dense', inputs, units: layer.units, activation: layer.activation, dropout: layer.dropout ?? 0 });
      flat = layer.units;
    }
  }
  out.push({ kind: 'dense', inputs: flat ?? h * w * c, units: spec.outputs, activation: 'identity', dropout: 0 });
  return out;
}

/** Elements of a layer's output per example. */
export function outputSize(l: ResolvedLayer): number {
  return l.kind === 'dense' ? l.units : l.kind === 'conv' ? l.outH * l.outW * l.filters : l.outH * l.outW * l.inC;
}

/** Glorot-uniform kernels (fans as Keras computes them for conv: receptive field × channels), zero biases. */
export function cnnShapes(spec: CnnSpec): InitShape[] {
  const shapes: InitShape[] = [];
  for (const [i, l] of resolveCnn(spec).entries()) {
    if (l.kind === 'conv') {
      shapes.push({ name: `conv${i}/kernel`, shape: [l.kernel, l.kernel, l.inC, l.filters], init: 'glorot' });
      shapes.push({ name: `conv${i}/bias`, shape: [l.filters], init: 'zeros' });
    } else if (l.kind === 'dense') {
      shapes.push({ name: `dense${i}/kernel`, shape: [l.inputs, l.units], init: 'glorot' });
      shapes.push({ name: `dense${i}/bias`, shape: [l.units], init: 'zeros' });
    }
  }
  return shapes;
}

export const cnn: ModelEntry<CnnSpec> = {
  type: 'cnn',
  schema: cnnSpecSchema,
  shapes: cnnShapes,
  inputSize: (spec) => spec.input[0] * spec.input[1] * spec.input[2],
  outputClasses: (spec) => spec.outputs,
};

/** The CNN of McMahan et al. 2017 for MNIST: 1,663,370 parameters. */
export const FEDAVG_CNN: CnnSpec = {
  type: 'cnn',
  input: [28, 28, 1],
  layers: [
    { type: 'conv', filters: 32, kernel: 5, padding: 'same', activation: 'relu' },
    { type: 'maxpool', size: 2 },
    { type: 'conv', filters: 64, kernel: 5, padding: 'same', activation: 'relu' },
    { type: 'maxpool', size: 2 },
    { type: 'dense', units: 512, activation: 'relu' },
  ],
  outputs: 10,
};
