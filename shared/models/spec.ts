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
});
export type MlpSpec = z.infer<typeof mlpSpecSchema>;

export const modelSpecSchema = z.discriminatedUnion('type', [mlpSpecSchema]);
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** The core-round workload: MLP 784-128-10 with ReLU. */
export const DEFAULT_MODEL: ModelSpec = { type: 'mlp', inputs: 784, hidden: [128], outputs: 10, activation: 'relu' };
