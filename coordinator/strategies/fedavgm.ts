import { z } from 'zod';
import { add } from '../../shared/weights.ts';
import { meanDelta, requireFinite, strategy } from './common.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/**
 * FedAvgM (Hsu et al. 2019): server momentum on the averaged delta:
 * v ← β·v + Δ̄;  w ← w + η·v. With η = 1 and β = 0 it is FedAvg.
 * The new velocity is kept only once the new model is known to be finite: a skipped
 * round leaves it as it was.
 */
export const fedAvgMParams = z.strictObject({
  lr: z.number().positive().default(1),
  momentum: z.number().min(0).lt(1).default(0.9),
});

export function fedAvgM(params: z.infer<typeof fedAvgMParams>, ctx: StrategyContext): Strategy {
  let velocity: Float64Array | undefined;
  return strategy({
    name: 'fedavgm',
    params,
    ctx,
    step: (global, results) => {
      const d = meanDelta(results);
      const next = new Float64Array(d.length);
      const step = new Float32Array(d.length);
      for (let i = 0; i < d.length; i++) {
        next[i] = params.momentum * (velocity?.[i] ?? 0) + d[i]!;
        step[i] = params.lr * next[i]!;
      }
      const w = requireFinite(add(global, step), 'fedavgm');
      velocity = next;
      return w;
    },
  });
}
