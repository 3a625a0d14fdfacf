import { z } from 'zod';
import type { DataView } from '../data/dataset.ts';
import type { ModelSpec } from '../models/spec.ts';

/**
 * The engine interface: everything that trains or evaluates a model goes
 * through it, so the round loop, client agents and worker pool never touch a
 * tensor library. Weights are the flat layout of shared/weights.ts.
 */
export const trainConfigSchema = z.strictObject({
  epochs: z.number().int().min(1).max(1000),
  batchSize: z.number().int().min(1).max(65536),
  /** sgd (with momentum / Nesterov), adam, adagrad or rmsprop; every one with optional L2 weight decay. */
  optimizer: z.enum(['sgd', 'adam', 'adagrad', 'rmsprop']),
  lr: z.number().positive().max(100),
  /** sgd: momentum μ (0 = plain SGD). */
  momentum: z.number().min(0).max(1).default(0),
  /** sgd with momentum: Nesterov's look-ahead. */
  nesterov: z.boolean().default(false),
  /** L2 weight decay λ: the gradient gains λ·w. */
  weightDecay: z.number().min(0).max(1).default(0),
  /** adam: first and second moment decay. */
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  /** rmsprop: decay of the squared-gradient average. */
  rho: z.number().min(0).lt(1).default(0.9),
  /** adam, adagrad, rmsprop: added to the denominator. */
  epsilon: z.number().positive().max(1).default(1e-8),
  /** FedProx's proximal coefficient μ: after each step, w ← w − lr·μ·(w − w_global). */
  mu: z.number().min(0).max(1e6).default(0),
  /** Local differential privacy (set by the coordinator from `dp: local:…`): the client clips its delta to `clip` and adds N(0, (noiseMultiplier·clip)²) before sending; engines ignore it. */
  localDp: z.strictObject({ clip: z.number().positive().max(1e6), noiseMultiplier: z.number().positive().max(1e6) }).optional(),
  /** Frozen parameters (names or '/'-prefixes, shared/trainable.ts): never updated, left out of the delta that travels. */
  frozen: z.array(z.string().min(1).max(256)).max(4096).default([]),
});
export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** A complete training config from the fields that matter, the others at their defaults. */
export function trainConfig(fields: z.input<typeof trainConfigSchema>): TrainConfig {
  return trainConfigSchema.parse(fields);
}

export interface TrainMetrics {
  /** Mean training loss over the last local epoch. */
  readonly loss: number;
  /** Training accuracy over the last local epoch. */
  readonly accuracy: number;
  /** Local epochs actually run (fewer than asked for partial work, e.g. a straggler). */
  readonly epochs: number;
  /** gan: the generator's mean loss (`loss` and `accuracy` are then the discriminator's). */
  readonly generatorLoss?: number;
}

export interface TrainResult {
  /** local − global, in the flat layout. */
  readonly delta: Float32Array;
  readonly numExamples: number;
  readonly metrics: TrainMetrics;
}

export interface EvalMetrics {
  readonly loss: number;
  readonly accuracy: number;
  readonly numExamples: number;
}

export interface Engine {
  readonly name: string;
  /**
   * Trains a copy of `weights` on `data` for `config.epochs` epochs with a batch order
   * drawn from `seed`; returns the delta. Never mutates `weights`.
   */
  train(spec: ModelSpec, weights: Float32Array, data: DataView, config: TrainConfig, seed: number): Promise<TrainResult>;
  evaluate(spec: ModelSpec, weights: Float32Array, data: DataView): Promise<EvalMetrics>;
  /**
   * The model's softmax probabilities for the rows of `data`, in the view's row order:
   * row-major n × spec.outputs. Never mutates `weights`.
   */
  predict(spec: ModelSpec, weights: Float32Array, data: DataView): Promise<Float32Array>;
}
