import { add } from '../../../shared/weights.ts';
import { type ServerStep, stepVectors } from './server-step.ts';

/** FedAvg's server step: w ← w + Δ, the combined update applied as it is; no state. */
export const fedAvgStep: ServerStep = {
  propose: (global, update) => ({ weights: add(global, update.delta), commit: () => {} }),
  snapshot: () => ({}),
  restore: (state) => void stepVectors(state, [], 'fedavg'),
};
