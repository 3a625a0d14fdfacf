import type { FitOutcome } from '../strategy.ts';

/** A round's results as one update: the delta the server step applies, and what it stands for. */
export interface CombinedUpdate {
  readonly delta: Float32Array;
  /** Clients whose updates it holds. */
  readonly clients: number;
  /** Examples behind it, where the coordinator knows them (not for a secure sum or a DP release). */
  readonly numExamples?: number;
}

/** Why a round leaves the model as it was, as its record and the log say. */
export interface RoundSkip {
  readonly code: 'E_TOO_FEW_RESULTS' | 'E_AGGREGATION' | 'E_SECAGG_ABORTED';
  readonly reason: string;
}

/** One round's results as a combiner sees them. */
export interface RoundResults {
  readonly round: number;
  /** Every result that arrived, sorted by client. */
  readonly results: readonly FitOutcome[];
  /** minFitClients: a round with fewer results is short, and the combiner decides what that means. */
  readonly minResults: number;
  /** Values in an update (the trainable ones): what a release of no results still has. */
  readonly dimension: number;
}

/** What a combiner made of a round. */
export type Combination =
  | {
      readonly kind: 'combined';
      readonly update: CombinedUpdate;
      /** Called once the model this update led to is kept: state that moves only in a round whose model enters. */
      readonly accept?: () => void;
    }
  /** Nothing to combine (every result was partial work the strategy drops): the model stays, and the round is not a skip. */
  | { readonly kind: 'nothing' }
  | { readonly kind: 'skipped'; readonly skip: RoundSkip };

export interface Combiner {
  /** True when combining needs every individual update at once (median, Krum), which secure aggregation and DP do not give. */
  readonly needsEveryUpdate: boolean;
  combine(round: RoundResults): Combination;
}

/**
 * One update from the results a rule is given: pure, inputs never mutated. A rule may throw
 * an AggregationError when these results cannot be combined (Krum with n ≤ 2f + 2).
 */
export type CombineRule = (results: readonly FitOutcome[]) => CombinedUpdate;

/** The clients and examples behind an update that a rule made from every one of `results`. */
export function standsFor(results: readonly FitOutcome[]): Pick<CombinedUpdate, 'clients' | 'numExamples'> {
  return { clients: results.length, numExamples: results.reduce((s, r) => s + r.numExamples, 0) };
}

/** A round with fewer than `min` clients' updates: skipped, with the reason the record carries. */
export function shortRound(clients: number, min: number): Combination | undefined {
  if (clients >= min) return undefined;
  return { kind: 'skipped', skip: { code: 'E_TOO_FEW_RESULTS', reason: `only ${clients} result${clients === 1 ? '' : 's'}, ${min} needed` } };
}

/** The results `rule` combines: stragglers' partial work only when the strategy accepts it; none left, nothing to combine. */
export function combineUsable(rule: CombineRule, acceptsPartialWork: boolean, results: readonly FitOutcome[]): Combination {
  const usable = acceptsPartialWork ? results : results.filter((r) => !r.partial);
  return usable.length > 0 ? { kind: 'combined', update: rule(usable) } : { kind: 'nothing' };
}

/** The plain path's combiner: a short round is skipped, the rest go through `rule` (combineUsable). */
export function plainCombiner(rule: CombineRule, options: { readonly needsEveryUpdate: boolean; readonly acceptsPartialWork: boolean }): Combiner {
  return {
    needsEveryUpdate: options.needsEveryUpdate,
    combine: (r) => shortRound(r.results.length, r.minResults) ?? combineUsable(rule, options.acceptsPartialWork, r.results),
  };
}

/**
 * The secure sum: secure aggregation's decoded mean arrives already combined, so the round
 * loop hands it to the server step as it is; a round whose sum holds too few clients is skipped.
 */
export function secureSum(update: CombinedUpdate, minResults: number): Combination {
  return shortRound(update.clients, minResults) ?? { kind: 'combined', update };
}
