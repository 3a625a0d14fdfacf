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

/** What a combiner knows of a round before its results. */
export interface RoundInfo {
  readonly round: number;
  /** minFitClients: a round with fewer results is short, and the combiner decides what that means. */
  readonly minResults: number;
  /** Values in an update (the trainable ones): what a release of no results still has. */
  readonly dimension: number;
}

/** One round's results as a combiner sees them. */
export interface RoundResults extends RoundInfo {
  /** Every result that arrived, sorted by client. */
  readonly results: readonly FitOutcome[];
}

/**
 * A round's results folded in one at a time, in client order (coordinator/collect.ts keeps
 * that order whatever order they arrive in), so the round holds one running sum instead of
 * every update: memory O(model), not O(clients × model). Gives combine's result to the byte.
 */
export interface CombineFold {
  /** Adds one result; its delta is neither kept nor mutated. */
  add(result: FitOutcome): void;
  /** What the round's results combine to, once every one has been added. */
  finish(): Combination;
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
  /**
   * Starts folding a round's results one at a time (CombineFold). Absent for a combiner that
   * needs every update at once (median, Krum, trimmed mean): the round then buffers them. When
   * present the round uses it, not `combine`: a combiner made from a built-in one by replacing
   * `combine` must drop `fold` too (or replace both).
   */
  fold?(round: RoundInfo): CombineFold;
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

/** A rule's running form: the same update built one result at a time, in the order given (meanFold for the weighted mean). */
export interface RuleFold {
  fold(result: FitOutcome): void;
  finish(): CombinedUpdate;
}

/**
 * The plain path's combiner: a short round is skipped, the rest go through `rule`
 * (combineUsable). With `foldRule` (the rule's running form) results are folded as they come.
 */
export function plainCombiner(
  rule: CombineRule,
  options: { readonly needsEveryUpdate: boolean; readonly acceptsPartialWork: boolean; readonly foldRule?: () => RuleFold },
): Combiner {
  const { foldRule, acceptsPartialWork } = options;
  return {
    needsEveryUpdate: options.needsEveryUpdate,
    ...(foldRule
      ? {
          // one computation for both: a whole round is its results folded in order
          combine: (r: RoundResults) => foldAll(usableFold(r, acceptsPartialWork, foldRule()), r.results),
          fold: (r: RoundInfo) => usableFold(r, acceptsPartialWork, foldRule()),
        }
      : { combine: (r: RoundResults) => shortRound(r.results.length, r.minResults) ?? combineUsable(rule, acceptsPartialWork, r.results) }),
  };
}

/** `results` through `fold` in the order given: a round combined at once by a combiner whose fold is its running form. */
export function foldAll(fold: CombineFold, results: readonly FitOutcome[]): Combination {
  for (const result of results) fold.add(result);
  return fold.finish();
}

/** combineUsable's running form: every result counts toward a short round, only the usable ones go into `rule`. */
export function usableFold(r: RoundInfo, acceptsPartialWork: boolean, rule: RuleFold): CombineFold {
  let results = 0;
  let usable = 0;
  return {
    add(result) {
      results++;
      if (!acceptsPartialWork && result.partial) return;
      rule.fold(result);
      usable++;
    },
    finish: () => shortRound(results, r.minResults) ?? (usable > 0 ? { kind: 'combined', update: rule.finish() } : { kind: 'nothing' }),
  };
}

/**
 * The secure sum: secure aggregation's decoded mean arrives already combined, so the round
 * loop hands it to the server step as it is; a round whose sum holds too few clients is skipped.
 */
export function secureSum(update: CombinedUpdate, minResults: number): Combination {
  return shortRound(update.clients, minResults) ?? { kind: 'combined', update };
}
