import { AggregationError, CheckpointError } from '../../../shared/errors.ts';
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
  /** The committed state (momentum, moments) as a checkpoint keeps it; empty for a step without state or before its first step. */
  snapshot(): StepState;
  /** Continues from `state`, a snapshot of a step of the same kind and size (an E_CHECKPOINT CheckpointError otherwise). */
  restore(state: StepState): void;
}

/** A server step's state: named float64 vectors, each as long as the trainable model. */
export type StepState = Readonly<Record<string, Float64Array>>;

/** The vectors `names` of `state`, all present with the same length, or none of them (a step that has not moved yet). */
export function stepVectors<K extends string>(state: StepState, names: readonly K[], who: string): Record<K, Float64Array> | undefined {
  const given = names.filter((n) => state[n] !== undefined);
  const extra = Object.keys(state).filter((k) => !(names as readonly string[]).includes(k));
  if (extra.length > 0 || (given.length > 0 && given.length < names.length))
    throw new CheckpointError(`${who}: the checkpoint's server state holds ${Object.keys(state).join(', ') || 'nothing'}, expected ${names.join(', ')}`);
  if (given.length === 0) return undefined;
  const length = state[names[0]!]!.length;
  for (const n of names)
    if (state[n]!.length !== length) throw new CheckpointError(`${who}: the checkpoint's server state ${n} has ${state[n]!.length} values, expected ${length}`);
  return Object.fromEntries(names.map((n) => [n, state[n]!])) as Record<K, Float64Array>;
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
