import type { SpecOf } from '../../../shared/strategy-spec.ts';
import { add } from '../../../shared/weights.ts';
import { type ServerStep, type StepState, stepVectors } from './server-step.ts';

/**
 * Adaptive server optimizers (Reddi et al. 2021, "Adaptive Federated Optimization"):
 * FedAdam, FedYogi and FedAdagrad take the combined delta Δ̄ as a pseudo-gradient; the
 * server keeps
 *   m ← β1·m + (1 − β1)·Δ̄
 *   v ← adagrad: v + Δ̄²  |  adam: β2·v + (1 − β2)·Δ̄²  |  yogi: v − (1 − β2)·Δ̄²·sign(v − Δ̄²)
 *   w ← w + η · m / (√v + τ)
 * with v starting at τ². Parameters lr (η), beta1, beta2, tau (τ).
 */
export function adaptiveStep(spec: SpecOf<'fedadam' | 'fedyogi' | 'fedadagrad'>): ServerStep {
  const { name, lr, beta1, beta2, tau } = spec;
  let m: Float64Array | undefined;
  let v: Float64Array | undefined;
  return {
    propose(global, { delta: d }) {
      const m0 = m ?? new Float64Array(d.length);
      const v0 = v ?? new Float64Array(d.length).fill(tau * tau);
      const m1 = new Float64Array(d.length);
      const v1 = new Float64Array(d.length);
      const step = new Float32Array(d.length);
      for (let i = 0; i < d.length; i++) {
        const g = d[i]!;
        const g2 = g * g;
        m1[i] = beta1 * m0[i]! + (1 - beta1) * g;
        if (name === 'fedadagrad') v1[i] = v0[i]! + g2;
        else if (name === 'fedadam') v1[i] = beta2 * v0[i]! + (1 - beta2) * g2;
        else v1[i] = v0[i]! - (1 - beta2) * g2 * Math.sign(v0[i]! - g2);
        step[i] = (lr * m1[i]!) / (Math.sqrt(v1[i]!) + tau);
      }
      return {
        weights: add(global, step),
        commit: () => {
          m = m1;
          v = v1;
        },
      };
    },
    snapshot: (): StepState => (m && v ? { m, v } : {}),
    restore(state) {
      const s = stepVectors(state, ['m', 'v'], name);
      m = s?.m;
      v = s?.v;
    },
  };
}
