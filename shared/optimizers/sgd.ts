import type { Hyperparameters, OptimizerInfo } from './hyperparameters.ts';

/**
 * Stochastic gradient descent, with momentum μ (heavy ball, or Nesterov's look-ahead):
 *   g ← ∇ + λ·w;  v ← μ·v + g;  w −= lr·(Nesterov ? g + μ·v : v);  μ = 0: w −= lr·g
 */
export const sgd = {
  name: 'sgd',
  reads: ['lr', 'weightDecay', 'momentum', 'nesterov'],
  /** The velocity, when there is momentum. */
  slots: (h) => (h.momentum > 0 ? 1 : 0),
} as const satisfies OptimizerInfo<'sgd', 'lr' | 'weightDecay' | 'momentum' | 'nesterov'>;

/**
 * Plain SGD (no momentum, no weight decay) keeps no state and needs no gradient
 * buffer: an engine may fold w −= lr·∇ into its backward pass.
 */
export function isPlainSgd(c: { readonly optimizer: string } & Pick<Hyperparameters, 'momentum' | 'weightDecay'>): boolean {
  return c.optimizer === sgd.name && c.momentum === 0 && c.weightDecay === 0;
}
