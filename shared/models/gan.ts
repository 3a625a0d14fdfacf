import { z } from 'zod';
import type { InitShape } from './init.ts';
import type { ModelEntry } from './model.ts';

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
  features: z
    .number()
    .int()
    .positive()
    .max(1 << 20),
  generator: ganNetSchema.default({ hidden: [128], activation: 'relu' }),
  discriminator: ganNetSchema.default({ hidden: [128], activation: 'leakyRelu' }),
  output: z.enum(['sigmoid', 'tanh', 'linear']).default('sigmoid'),
});
export type GanSpec = z.infer<typeof ganSpecSchema>;

/** Layer widths of the two networks: generator latent → … → features; discriminator features → … → 1 logit. */
function ganSizes(spec: GanSpec): { generator: number[]; discriminator: number[] } {
  return {
    generator: [spec.latent, ...spec.generator.hidden, spec.features],
    discriminator: [spec.features, ...spec.discriminator.hidden, 1],
  };
}

/** The generator's dense layers then the discriminator's, each glorot kernel [in, out] then zero bias [out]. */
export function ganShapes(spec: GanSpec): InitShape[] {
  const shapes: InitShape[] = [];
  for (const [net, sizes] of Object.entries(ganSizes(spec))) {
    for (let l = 0; l + 1 < sizes.length; l++) {
      shapes.push({ name: `${net}/dense${l}/kernel`, shape: [sizes[l]!, sizes[l + 1]!], init: 'glorot' });
      shapes.push({ name: `${net}/dense${l}/bias`, shape: [sizes[l + 1]!], init: 'zeros' });
    }
  }
  return shapes;
}

/** How many of the flat parameters (in ganShapes order) belong to the generator. */
export function generatorParamCount(spec: GanSpec): number {
  return 2 * (spec.generator.hidden.length + 1);
}

export const gan: ModelEntry<GanSpec> = {
  type: 'gan',
  schema: ganSpecSchema,
  shapes: ganShapes,
  inputSize: (spec) => spec.features,
  outputClasses: () => undefined,
};
