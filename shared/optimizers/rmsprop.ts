import type { OptimizerInfo } from './hyperparameters.ts';

/** RMSprop (Hinton 2012): g ← ∇ + λ·w;  s ← ρ·s + (1 − ρ)·g²;  w −= lr·g / (√s + ε) */
export const rmsprop = {
  name: 'rmsprop',
  reads: ['lr', 'weightDecay', 'rho', 'epsilon'],
  /** The running average of the squared gradient. */
  slots: () => 1,
} as const satisfies OptimizerInfo<'rmsprop', 'lr' | 'weightDecay' | 'rho' | 'epsilon'>;
