import { z } from 'zod';
import { trainConfigSchema, type TrainConfig } from '../train-config.ts';

/**
 * What the coordinator adds to the run's hyperparameters in each fit task, from
 * other settings of the run config (never from its `train:` section).
 */
const fitInstructionFields = {
  /** FedProx's proximal coefficient μ (from `strategy: fedprox:mu=…`): after each step, w ← w − lr·μ·(w − w_global). */
  mu: z.number().min(0).max(1e6).default(0),
  /** Local differential privacy (from `dp: local:…`): the client clips its delta to `clip` and adds N(0, (noiseMultiplier·clip)²) before sending; engines ignore it. */
  localDp: z.strictObject({ clip: z.number().positive().max(1e6), noiseMultiplier: z.number().positive().max(1e6) }).optional(),
  /** Frozen parameters (from `freeze:`; names or '/'-prefixes, shared/trainable.ts): never updated, left out of the delta that travels. */
  frozen: z.array(z.string().min(1).max(256)).max(4096).default([]),
};

/** The run-config setting each coordinator-only field comes from, and how it is written there. */
const SOURCES: { readonly [K in keyof typeof fitInstructionFields]: readonly [setting: string, example: string] } = {
  mu: ['strategy', 'strategy: fedprox:mu=…'],
  localDp: ['dp', 'dp: local:…'],
  frozen: ['freeze', 'freeze:'],
};

/** A fit task's config on the wire: the hyperparameters and the coordinator's instructions in one flat object. */
export const fitConfigSchema = trainConfigSchema.extend(fitInstructionFields);
export type FitConfig = z.infer<typeof fitConfigSchema>;

/** A complete fit config from the fields that matter, the others at their defaults (no proximal term, nothing frozen). */
export function fitConfig(fields: z.input<typeof fitConfigSchema>): FitConfig {
  return fitConfigSchema.parse(fields);
}

/**
 * A field the run config's `train:` section must leave out, with the setting to use instead.
 * Its no-op value (μ = 0, nothing frozen) is still accepted, so configs and history.json files
 * written when the section carried these fields read as before.
 */
function misplaced(field: keyof typeof SOURCES, isNoOp: (value: unknown) => boolean) {
  const [setting, example] = SOURCES[field];
  return z
    .unknown()
    .refine((value) => value === undefined || isNoOp(value), { error: `set by the coordinator from \`${example}\`; use ${setting} instead` })
    .optional();
}

/**
 * The run config's `train:` section: the hyperparameters alone. A coordinator-only
 * field there is an error at its own path that names the setting to use instead.
 */
export const runTrainSchema = trainConfigSchema
  .extend({
    mu: misplaced('mu', (v) => v === 0),
    localDp: misplaced('localDp', () => false),
    frozen: misplaced('frozen', (v) => Array.isArray(v) && v.length === 0),
  })
  .transform(({ mu: _mu, localDp: _localDp, frozen: _frozen, ...hyperparameters }): TrainConfig => hyperparameters);
