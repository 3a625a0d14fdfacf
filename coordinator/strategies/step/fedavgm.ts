import type { SpecOf } from '../../../shared/strategy-spec.ts';
import { add } from '../../../shared/weights.ts';
import { type ServerStep, type StepState, stepVectors } from './server-step.ts';

/**
 * FedAvgM (Hsu et al. 2019): server momentum on the combined delta:
 * v ← β·v + Δ̄;  w ← w + η·v. With η = 1 and β = 0 it is FedAvg.
 */
export function fedAvgMStep({ lr, momentum }: SpecOf<'fedavgm'>): ServerStep {
  let velocity: Float64Array | undefined;
  return {
    propose(global, { delta: d }) {
      const next = new Float64Array(d.length);
      const step = new Float32Array(d.length);
      for (let i = 0; i < d.length; i++) {
        next[i] = momentum * (velocity?.[i] ?? 0) + d[i]!;
        step[i] = lr * next[i]!;
      }
      return {
        weights: add(global, step),
        commit: () => {
          velocity = next;
        },
      };
    },
    snapshot: (): StepState => (velocity ? { velocity } : {}),
    restore(state) {
      velocity = stepVectors(state, ['velocity'], 'fedavgm')?.velocity;
    },
  };
}
