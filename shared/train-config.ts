import { z } from 'zod';
import { hyperparameterFields } from './optimizers/hyperparameters.ts';
import { OPTIMIZER_NAMES } from './optimizers/registry.ts';

/**
 * A run's training hyperparameters: what a user sets under `train:` and every
 * client applies locally. What the coordinator adds per task (the proximal term,
 * local DP, frozen parameters) is the fit config's (shared/protocol/fit-config.ts).
 */
export const trainConfigSchema = z.strictObject({
  epochs: z.number().int().min(1).max(1000),
  batchSize: z.number().int().min(1).max(65536),
  /** sgd (with momentum / Nesterov), adam, adagrad or rmsprop (shared/optimizers); every one with optional L2 weight decay. */
  optimizer: z.enum(OPTIMIZER_NAMES),
  ...hyperparameterFields,
});
export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** A complete training config from the fields that matter, the others at their defaults. */
export function trainConfig(fields: z.input<typeof trainConfigSchema>): TrainConfig {
  return trainConfigSchema.parse(fields);
}
