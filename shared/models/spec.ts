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

/**
 * The input of a sequence model: either `seqLen` real-valued steps of `inputDim`
 * features each (the data's features are step-major: step 0's features first),
 * or `seqLen` token ids in [0, vocab) that an embedding of `embed` dimensions maps
 * to vectors (the data's features are the ids, as floats).
 */
const sequenceInput = {
  seqLen: z.number().int().positive().max(4096),
  inputDim: z.number().int().positive().max(65536).optional(),
  vocab: z.number().int().min(2).max(65536).optional(),
  embed: z.number().int().positive().max(4096).optional(),
};
function sequenceInputProblem(spec: { inputDim?: number | undefined; vocab?: number | undefined; embed?: number | undefined }): string | undefined {
  if ((spec.inputDim === undefined) === (spec.vocab === undefined)) return 'set exactly one of inputDim (real-valued steps) and vocab (token ids)';
  if (spec.embed !== undefined && spec.vocab === undefined) return 'embed applies to token inputs (vocab)';
  return undefined;
}

/**
 * A recurrent sequence classifier (Keras conventions): a simple RNN, LSTM or GRU
 * cell, `layers` stacked, the last layer's final hidden state → dense `outputs`.
 * A character-level next-character model is this with `vocab` = `outputs`.
 */
export const rnnSpecSchema = z
  .strictObject({
    type: z.literal('rnn'),
    cell: z.enum(['rnn', 'lstm', 'gru']).default('lstm'),
    ...sequenceInput,
    units: z.number().int().positive().max(4096),
    layers: z.number().int().min(1).max(8).default(1),
    /** Inverted dropout on the final hidden state while training. */
    dropout: z.number().min(0).lt(1).optional(),
    outputs: z.number().int().min(2),
  })
  .superRefine((spec, ctx) => {
    const problem = sequenceInputProblem(spec);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
export type RnnSpec = z.infer<typeof rnnSpecSchema>;

/**
 * A transformer encoder for sequence classification: input projection (or token
 * embedding) plus a learned positional embedding, `layers` pre-norm blocks of
 * multi-head self-attention and a ReLU feed-forward of width `ff`, each with a
 * residual connection and layer norm, a final layer norm, mean pooling over the
 * sequence, and a dense output.
 */
export const transformerSpecSchema = z
  .strictObject({
    type: z.literal('transformer'),
    ...sequenceInput,
    dModel: z.number().int().positive().max(4096),
    heads: z.number().int().positive().max(64),
    layers: z.number().int().min(1).max(24).default(1),
    ff: z.number().int().positive().max(16384),
    /** Inverted dropout on the attention and feed-forward outputs while training. */
    dropout: z.number().min(0).lt(1).optional(),
    outputs: z.number().int().min(2),
  })
  .superRefine((spec, ctx) => {
    const problem = sequenceInputProblem(spec);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    if (spec.embed !== undefined) ctx.addIssue({ code: 'custom', message: 'a transformer embeds tokens into dModel dimensions; drop embed', path: ['embed'] });
    if (spec.dModel % spec.heads !== 0) ctx.addIssue({ code: 'custom', message: `dModel (${spec.dModel}) must be a multiple of heads (${spec.heads})`, path: ['heads'] });
  });
export type TransformerSpec = z.infer<typeof transformerSpecSchema>;

const ganNetSchema = z.strictObject({
  hidden: z.array(z.number().int().positive().max(65536)).max(16),
  activation: z.enum(['relu', 'leakyRelu', 'tanh']),
  /** Inverted dropout after each hidden layer while training. */
  dropout: z.number().min(0).lt(1).optional(),
});

/**
 * A generative adversarial network on `features`-dimensional data (labels are
 * ignored): a generator MLP from `latent` standard-normal noise to a sample
 * (output squashed by `output`: sigmoid for data in [0, 1]) and a discriminator
 * MLP from a sample to one logit, trained adversarially (non-saturating loss).
 * The flat weights are the generator's then the discriminator's, so a federated
 * run averages both networks.
 */
export const ganSpecSchema = z.strictObject({
  type: z.literal('gan'),
  latent: z.number().int().positive().max(4096),
  features: z.number().int().positive().max(1 << 20),
  generator: ganNetSchema.default({ hidden: [128], activation: 'relu' }),
  discriminator: ganNetSchema.default({ hidden: [128], activation: 'leakyRelu' }),
  output: z.enum(['sigmoid', 'tanh', 'linear']).default('sigmoid'),
});
export type GanSpec = z.infer<typeof ganSpecSchema>;

export const modelSpecSchema = z.discriminatedUnion('type', [mlpSpecSchema, cnnSpecSchema, rnnSpecSchema, transformerSpecSchema, ganSpecSchema]);
export type ModelSpec = z.infer<typeof modelSpecSchema>;
export type SequenceSpec = RnnSpec | TransformerSpec;

/** Input features a spec expects per example (flattened). */
export function inputSize(spec: ModelSpec): number {
  switch (spec.type) {
    case 'mlp':
      return spec.inputs;
    case 'cnn':
      return spec.input[0] * spec.input[1] * spec.input[2];
    case 'rnn':
    case 'transformer':
      return spec.vocab !== undefined ? spec.seqLen : spec.seqLen * spec.inputDim!;
    case 'gan':
      return spec.features;
  }
}

/** The classes a classifier predicts; undefined for a generative model (gan), which ignores labels. */
export function outputClasses(spec: ModelSpec): number | undefined {
  return spec.type === 'gan' ? undefined : spec.outputs;
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
