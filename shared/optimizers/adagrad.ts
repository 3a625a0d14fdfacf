import type { OptimizerInfo } from './hyperparameters.ts';

/** AdaGrad (Duchi et al. 2011): g ← ∇ + λ·w;  G ← G + g²;  w −= lr·g / (√G + ε) */
export const adagrad = {
  name: 'adagrad',
  reads: ['lr', 'weightDecay', 'epsilon'],
  /** The accumulated squared gradient. */
  slots: () => 1,
} as const satisfies OptimizerInfo<'adagrad', 'lr' | 'weightDecay' | 'epsilon'>;
