import { z } from 'zod';
import { activationSchema } from './activation.ts';
import type { InitShape } from './init.ts';
import type { ModelEntry } from './model.ts';

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
};
