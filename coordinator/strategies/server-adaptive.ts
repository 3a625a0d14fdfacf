import { z } from 'zod';
import { add } from '../../shared/weights.ts';
import { meanDelta, requireFinite, strategy } from './common.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/**
 * Adaptive server optimizers (Reddi et al. 2021, "Adaptive Federated Optimization"):
 * the averaged delta Δ̄ is a pseudo-gradient step; the server keeps
 *   m ← β1·m + (1 − β1)·Δ̄
 *   v ← adagrad: v + Δ̄²  |  adam: β2·v + (1 − β2)·Δ̄²  |  yogi: v − (1 − β2)·Δ̄²·sign(v − Δ̄²)
 *   w ← w + η · m / (√v + τ)
 * with v starting at τ². Shared by fedadam.ts, fedyogi.ts and fedadagrad.ts.
 * The new moments are kept only once the new model is known to be finite: a skipped
 * round leaves them as they were.
 */
export const serverAdaptiveParams = z.strictObject({
  lr: z.number().positive().default(0.01),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.99),
  tau: z.number().positive().default(1e-3),
});
export type ServerAdaptiveParams = z.infer<typeof serverAdaptiveParams>;

export function serverAdaptive(kind: 'adam' | 'yogi' | 'adagrad', params: ServerAdaptiveParams, ctx: StrategyContext): Strategy {
  let m: Float64Array | undefined;
  let v: Float64Array | undefined;
  const { lr, beta1, beta2, tau } = params;
  return strategy({
    name: `fed${kind}`,
    params,
    ctx,
    step: (global, results) => {
      const d = meanDelta(results);
      const m0 = m ?? new Float64Array(d.length);
      const v0 = v ?? new Float64Array(d.length).fill(tau * tau);
      const m1 = new Float64Array(d.length);
      const v1 = new Float64Array(d.length);
      const step = new Float32Array(d.length);
      for (let i = 0; i < d.length; i++) {
        const g = d[i]!;
        const g2 = g * g;
        m1[i] = beta1 * m0[i]! + (1 - beta1) * g;
        if (kind === 'adagrad') v1[i] = v0[i]! + g2;
        else if (kind === 'adam') v1[i] = beta2 * v0[i]! + (1 - beta2) * g2;
        else v1[i] = v0[i]! - (1 - beta2) * g2 * Math.sign(v0[i]! - g2);
        step[i] = (lr * m1[i]!) / (Math.sqrt(v1[i]!) + tau);
      }
      const w = requireFinite(add(global, step), `fed${kind}`);
      m = m1;
      v = v1;
      return w;
    },
  });
}
