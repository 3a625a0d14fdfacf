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
  optimizer: z.enum(['sgd']),
  lr: z.number().positive().max(100),
  momentum: z.number().min(0).max(1).default(0),
  /** FedProx's proximal coefficient μ: after each step, w ← w − lr·μ·(w − w_global). */
  mu: z.number().min(0).max(1e6).default(0),
});
export type TrainConfig = z.infer<typeof trainConfigSchema>;

export interface TrainMetrics {
  /** Mean training loss over the last local epoch. */
  readonly loss: number;
  /** Training accuracy over the last local epoch. */
  readonly accuracy: number;
  /** Local epochs actually run (fewer than asked for partial work, e.g. a straggler). */
  readonly epochs: number;
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
}
