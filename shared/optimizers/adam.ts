import type { Hyperparameters, OptimizerInfo } from './hyperparameters.ts';

/**
 * Adam (Kingma & Ba 2015), with L2 decay added to the gradient:
 *   g ← ∇ + λ·w;  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  w −= lr_t·m / (√v + ε_t)
 * the bias corrections folded into the step (adamStep).
 */
export const adam = {
  name: 'adam',
  reads: ['lr', 'weightDecay', 'beta1', 'beta2', 'epsilon'],
  /** The first and second moments. */
  slots: () => 2,
} as const satisfies OptimizerInfo<'adam', 'lr' | 'weightDecay' | 'beta1' | 'beta2' | 'epsilon'>;

/** Step t's (from 1) bias-corrected rate and epsilon: lr_t = lr·√(1 − β2^t)/(1 − β1^t), ε_t = ε·√(1 − β2^t). */
export function adamStep(h: Pick<Hyperparameters, 'lr' | 'beta1' | 'beta2' | 'epsilon'>, t: number): { lr: number; epsilon: number } {
  return { lr: (h.lr * Math.sqrt(1 - h.beta2 ** t)) / (1 - h.beta1 ** t), epsilon: h.epsilon * Math.sqrt(1 - h.beta2 ** t) };
}
