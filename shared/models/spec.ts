import { z } from 'zod';

/**
 * Model specs: plain JSON that travels in the run config, so every client builds
 * the identical architecture. Issue 3 ships the MLP; the registry grows by adding
 * a member to this union and a file beside mlp.ts.
 */
export const activationSchema = z.enum(['relu', 'tanh', 'sigmoid']);
export type Activation = z.infer<typeof activationSchema>;

export const mlpSpecSchema = z.strictObject({
  type: z.literal('mlp'),
  inputs: z.number().int().positive(),
  hidden: z.array(z.number().int().positive()).max(16),
  outputs: z.number().int().min(2),
  activation: activationSchema.default('relu'),
  /** Inverted dropout after each hidden layer while training (0 = none). */
  dropout: z.number().min(0).lt(1).optional(),
});
export type MlpSpec = z.infer<typeof mlpSpecSchema>;

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

export const modelSpecSchema = z.discriminatedUnion('type', [mlpSpecSchema, cnnSpecSchema]);
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** Input features a spec expects (flattened). */
export function inputSize(spec: ModelSpec): number {
  return spec.type === 'mlp' ? spec.inputs : spec.input[0] * spec.input[1] * spec.input[2];
}

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
        if (h < layer.kernel || w < layer.kernel) return { layer: i, message: `a ${layer.kernel}×${layer.kernel} 'valid' convolution does not fit a ${h}×${w} input` };
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

/** The core-round workload: MLP 784-128-10 with ReLU. */
export const DEFAULT_MODEL: ModelSpec = { type: 'mlp', inputs: 784, hidden: [128], outputs: 10, activation: 'relu' };
