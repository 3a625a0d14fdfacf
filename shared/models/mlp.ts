import { z } from 'zod';
import { activationSchema } from './activation.ts';
import type { InitShape } from './init.ts';
import type { ModelEntry } from './model.ts';

export const mlpSpecSchema = z
  .strictObject({
    type: z.literal('mlp'),
    inputs: z.number().int().positive(),
    hidden: z.array(z.number().int().positive()).max(16),
    /** Classes (crossentropy), or target values per example (mse). */
    outputs: z.number().int().min(1),
    activation: activationSchema.default('relu'),
    /** Inverted dropout after each hidden layer while training (0 = none). */
    dropout: z.number().min(0).lt(1).optional(),
    /**
     * crossentropy (absent): a classifier, softmax over the outputs. mse: a regression model,
     * its outputs linear and trained on the mean squared error against the data's targets.
     */
    loss: z.enum(['crossentropy', 'mse']).optional(),
    /**
     * loss mse: the targets' scale, one mean and standard deviation per output. The network
     * learns (y − mean) / std and its predictions are scaled back (z · std + mean), so targets in
     * the hundreds of thousands train at the same learning rate as ones near 1, and every metric
     * is in the targets' own units. Absent: the network predicts the targets as they are.
     */
    target: z
      .strictObject({
        mean: z.array(z.number()).min(1).max(4096),
        std: z.array(z.number().positive()).min(1).max(4096),
      })
      .optional(),
  })
  .refine((s) => s.loss === 'mse' || s.outputs >= 2, { message: 'a classifier needs at least 2 outputs', path: ['outputs'] })
  .refine((s) => s.target === undefined || (s.loss === 'mse' && s.target.mean.length === s.outputs && s.target.std.length === s.outputs), {
    message: 'target scaling is for loss mse, one mean and one std per output',
    path: ['target'],
  });
export type MlpSpec = z.infer<typeof mlpSpecSchema>;

/**
 * The MLP's parameters in flat order: for each dense layer its kernel
 * [in, out] then its bias [out] — the order of Keras' `model.getWeights()`.
 * Glorot-uniform kernels and zero biases (Keras' defaults).
 */
export function mlpShapes(spec: MlpSpec): InitShape[] {
  const sizes = [spec.inputs, ...spec.hidden, spec.outputs];
  const shapes: InitShape[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    shapes.push({ name: `dense${l}/kernel`, shape: [sizes[l]!, sizes[l + 1]!], init: 'glorot' });
    shapes.push({ name: `dense${l}/bias`, shape: [sizes[l + 1]!], init: 'zeros' });
  }
  return shapes;
}

export const mlp: ModelEntry<MlpSpec> = {
  type: 'mlp',
  schema: mlpSpecSchema,
  shapes: mlpShapes,
  inputSize: (spec) => spec.inputs,
  outputClasses: (spec) => spec.outputs,
  regression: (spec) => spec.loss === 'mse',
};
