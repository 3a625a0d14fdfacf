import { AggregationError } from '../../../shared/errors.ts';
import { firstNonFinite } from '../../../shared/weights.ts';
import type { CombinedUpdate } from '../combine/combiner.ts';

/** The next global model a server step proposes, and the state that goes with it. */
export interface StepProposal {
  readonly weights: Float32Array;
  /** Keeps the step's new state (momentum, moments); until then the step is as it was. */
  commit(): void;
}

/**
 * The server's half of a strategy: (global, combined update) → the next global model.
 * `propose` mutates neither argument nor the step's own state; takeStep commits that state
 * only once the proposed model is known to be finite, so a skipped round leaves it as it was.
 */
export interface ServerStep {
  propose(global: Float32Array, update: CombinedUpdate): StepProposal;
}

/** The proposed model of `step`, its state committed; a model that is not finite is an AggregationError naming `who`, and nothing is committed. */
export function takeStep(step: ServerStep, global: Float32Array, update: CombinedUpdate, who: string): Float32Array {
  const proposal = step.propose(global, update);
  requireFinite(proposal.weights, who);
  proposal.commit();
  return proposal.weights;
}

/**
 * `weights` when every value is finite; otherwise an AggregationError, so the round loop
 * skips the round instead of letting NaN or ±∞ into the global model (where the next
 * round's training would turn every client's loss to NaN). Finite client deltas can still
 * overflow float32 once added to the model.
 */
function requireFinite(weights: Float32Array, who: string): Float32Array {
  const i = firstNonFinite(weights);
  if (i >= 0) throw new AggregationError(`${who}: the new global model is not finite (${weights[i]} at coordinate ${i})`);
  return weights;
}
