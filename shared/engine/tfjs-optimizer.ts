import * as tf from '@tensorflow/tfjs-core';
import { adamStep } from '../optimizers/adam.ts';
import type { Hyperparameters } from '../optimizers/hyperparameters.ts';
import { stateSlots, type OptimizerConfig, type OptimizerName, type SettingsFor } from '../optimizers/registry.ts';

/** One optimizer's update of a variable w from its gradient g (weight decay included) and its state slots; t counts steps from 1. */
type TfjsUpdate<N extends OptimizerName> = (w: tf.Variable, g: tf.Tensor, state: readonly tf.Variable[], h: SettingsFor<N>, t: number) => void;

/** w −= lr·g / (√a + ε): the step of the adaptive-denominator optimizers. */
function scaledStep(w: tf.Variable, g: tf.Tensor, a: tf.Tensor, h: Pick<Hyperparameters, 'lr' | 'epsilon'>): void {
  w.assign(tf.sub(w, tf.div(tf.mul(g, h.lr), tf.add(tf.sqrt(a), h.epsilon))));
}

/** Each optimizer's rule (shared/optimizers) in tensor ops, the same arithmetic as the SIMD kernels. */
const TFJS_UPDATES: { readonly [N in OptimizerName]: TfjsUpdate<N> } = {
  sgd: (w, g, [v], h) => {
    if (h.momentum === 0) {
      w.assign(tf.sub(w, tf.mul(g, h.lr)));
      return;
    }
    v!.assign(tf.add(tf.mul(v!, h.momentum), g));
    w.assign(tf.sub(w, tf.mul(h.nesterov ? tf.add(g, tf.mul(v!, h.momentum)) : v!, h.lr)));
  },
  adam: (w, g, [m, v], h, t) => {
    m!.assign(tf.add(tf.mul(m!, h.beta1), tf.mul(g, 1 - h.beta1)));
    v!.assign(tf.add(tf.mul(v!, h.beta2), tf.mul(tf.square(g), 1 - h.beta2)));
    const step = adamStep(h, t);
    w.assign(tf.sub(w, tf.div(tf.mul(m!, step.lr), tf.add(tf.sqrt(v!), step.epsilon))));
  },
  adagrad: (w, g, [a], h) => {
    a!.assign(tf.add(a!, tf.square(g)));
    scaledStep(w, g, a!, h);
  },
  rmsprop: (w, g, [a], h) => {
    a!.assign(tf.add(tf.mul(a!, h.rho), tf.mul(tf.square(g), 1 - h.rho)));
    scaledStep(w, g, a!, h);
  },
};

/**
 * The configured optimizer over some variables, for the tfjs engine's training
 * steps: g ← ∇ + λ·w, then the optimizer's rule.
 */
export class TfjsOptimizer {
  private readonly config: OptimizerConfig;
  /** Per variable, its state slots; none for a frozen one. */
  private readonly state: tf.Variable[][];
  private t = 0;

  /** `trainable` (per variable): frozen variables get no state and no step. */
  constructor(config: OptimizerConfig, vars: readonly tf.Variable[], trainable: readonly boolean[]) {
    this.config = config;
    const slots = stateSlots(config);
    // tidy frees the zero tensors; variables outlive it
    this.state = tf.tidy(() => vars.map((v, i) => (trainable[i] ? Array.from({ length: slots }, () => tf.variable(tf.zerosLike(v), false)) : [])));
  }

  /** Applies one step with the (unscaled, mean) gradients, inside the caller's tidy; a variable without a gradient (frozen) is left alone. */
  apply(vars: readonly tf.Variable[], grads: readonly (tf.Tensor | undefined)[]): void {
    const { config } = this;
    this.t++;
    vars.forEach((w, i) => {
      const grad = grads[i];
      if (!grad) return;
      const g = config.weightDecay > 0 ? tf.add(grad, tf.mul(w, config.weightDecay)) : grad;
      TFJS_UPDATES[config.optimizer](w, g, this.state[i]!, config, this.t);
    });
  }

  dispose(): void {
    for (const slots of this.state) for (const v of slots) v.dispose();
  }
}
