import { adamStep } from '../../optimizers/adam.ts';
import type { OptimizerName, SettingsFor } from '../../optimizers/registry.ts';
import type { KernelExports } from './kernels.ts';

/** A run of n parameters: pointers to the weights, their mean gradient and the optimizer's two state arrays (unused ones arbitrary). */
export interface UpdateRun {
  readonly n: number;
  readonly w: number;
  readonly g: number;
  readonly s1: number;
  readonly s2: number;
}

/** One optimizer's update of a run through its kernel; t counts steps from 1. */
type SimdUpdate<N extends OptimizerName> = (k: KernelExports, r: UpdateRun, h: SettingsFor<N>, t: number) => void;

/** Each optimizer's rule (shared/optimizers) as its kernel in assembly/optim.ts, weight decay included. */
export const SIMD_UPDATES: { readonly [N in OptimizerName]: SimdUpdate<N> } = {
  sgd: (k, r, h) => k.sgdUpdate(r.n, r.w, r.g, r.s1, h.lr, h.momentum, h.weightDecay, h.nesterov ? 1 : 0),
  adam: (k, r, h, t) => {
    const step = adamStep(h, t);
    k.adamUpdate(r.n, r.w, r.g, r.s1, r.s2, step.lr, h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, step.epsilon, h.weightDecay);
  },
  adagrad: (k, r, h) => k.adagradUpdate(r.n, r.w, r.g, r.s1, h.lr, h.epsilon, h.weightDecay),
  rmsprop: (k, r, h) => k.rmspropUpdate(r.n, r.w, r.g, r.s1, h.lr, h.rho, 1 - h.rho, h.epsilon, h.weightDecay),
};
