import { z } from 'zod';

/**
 * Every optimizer hyperparameter a run may set, with its range and default, in
 * the order a training config lists them. Each optimizer reads the ones its
 * descriptor names (registry.ts); the others are ignored.
 */
export const hyperparameterFields = {
  lr: z.number().positive().max(100),
  /** sgd: momentum μ (0 = plain SGD). */
  momentum: z.number().min(0).max(1).default(0),
  /** sgd with momentum: Nesterov's look-ahead. */
  nesterov: z.boolean().default(false),
  /** L2 weight decay λ, every optimizer: the gradient gains λ·w. */
  weightDecay: z.number().min(0).max(1).default(0),
  /** adam: first and second moment decay. */
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  /** rmsprop: decay of the squared-gradient average. */
  rho: z.number().min(0).lt(1).default(0.9),
  /** adam, adagrad, rmsprop: added to the denominator. */
  epsilon: z.number().positive().max(1).default(1e-8),
};
export type Hyperparameters = { readonly [K in keyof typeof hyperparameterFields]: z.infer<(typeof hyperparameterFields)[K]> };
export type HyperparameterName = keyof Hyperparameters;

/**
 * What describes an optimizer to both engines: the hyperparameters its rule reads
 * and how many state values it keeps per parameter. The rule itself is each
 * engine's (tfjs tensor ops, SIMD kernels), keyed by `name`.
 */
export interface OptimizerInfo<N extends string = string, R extends HyperparameterName = HyperparameterName> {
  readonly name: N;
  readonly reads: readonly R[];
  /** State arrays per parameter (velocity, moments, accumulators) these settings need. */
  slots(h: Pick<Hyperparameters, R>): number;
}

/** The hyperparameters an optimizer's rule may read. */
export type SettingsOf<O extends OptimizerInfo> = Pick<Hyperparameters, O['reads'][number]>;
