import type { TrainConfig } from '../../shared/engine/engine.ts';
import type { SamplingOptions } from './sampling.ts';

/**
 * The strategy interface (DESIGN.md §5, after Flower's): a strategy decides
 * which clients train with which settings, and how their results become the
 * next global model. Strategies are plain objects; failures arrive as data.
 * After aggregation the new model may also be scored by clients on their own
 * held-out rows (federated evaluation): configureEvaluate picks them,
 * aggregateEvaluate combines their metrics.
 */
export interface ClientInfo {
  readonly id: string;
  readonly name: string;
}

export interface FitInstruction {
  readonly client: ClientInfo;
  readonly config: TrainConfig;
}

export interface FitOutcome {
  readonly client: ClientInfo;
  readonly numExamples: number;
  readonly delta: Float32Array;
  readonly metrics: Readonly<Record<string, number>>;
  /** The client ran fewer local epochs than asked (a straggler's partial work). */
  readonly partial?: boolean;
}

export interface FitFailure {
  readonly client: ClientInfo;
  readonly reason: string;
}

/** One client's scores of the new global model on its held-out rows. */
export interface EvaluateOutcome {
  readonly client: ClientInfo;
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/** A round's federated evaluation combined: every metric as an example-weighted mean. */
export interface EvaluateAggregate {
  /** Held-out rows scored, over all clients. */
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface Strategy {
  readonly name: string;
  /** True when aggregation needs every update at once (median, Krum); false allows a streaming fold. */
  readonly needsAllUpdates: boolean;
  /** Picks this round's clients and their training settings. */
  configureFit(round: number, available: readonly ClientInfo[], base: TrainConfig): FitInstruction[];
  /**
   * The next global weights from the current ones and this round's results.
   * Results arrive sorted by client name, so the same inputs give the same bytes.
   * `global` and the deltas are not mutated (a strategy may keep its own state).
   */
  aggregateFit(round: number, global: Float32Array, results: readonly FitOutcome[], failures: readonly FitFailure[]): Float32Array;
  /** Picks the clients that score this round's new model on their held-out rows. */
  configureEvaluate(round: number, available: readonly ClientInfo[]): ClientInfo[];
  /** Combines the clients' evaluation results (sorted by client name); a pure function of them. */
  aggregateEvaluate(round: number, results: readonly EvaluateOutcome[]): EvaluateAggregate;
  /** Plain data describing the strategy and its parameters (for the run history). */
  toConfig(): Record<string, unknown>;
  /** With differential privacy (strategies/dp.ts): the (ε, δ) spent so far and what a reader needs to check it. */
  privacy?(): PrivacyReport;
  /**
   * True when aggregateFit must see every round, even one with fewer than minFitClients
   * results (differential privacy: whether a round releases must not depend on an un-noised
   * count, and the budget is charged as the release happens); it then decides itself.
   */
  readonly handlesShortRounds?: boolean;
}

/** The privacy a run has spent so far (strategies/dp.ts). */
export interface PrivacyReport {
  /** ε at `delta` for any one client, with amplification by sampling: valid when the sample is secret. */
  readonly epsilon: number;
  readonly delta: number;
  /** The clip norm the next round uses (it moves under adaptive clipping). */
  readonly clip: number;
  /** The sampling rate the last round was charged at: its sample size over the clients available to it (1 for local DP). */
  readonly samplingRate: number;
  /** Whether the sample was drawn from a secret source (a CSPRNG keyed from the OS) or a stream anyone with the config can replay. */
  readonly samplingSecret: boolean;
  /**
   * With a replayable sample: the largest ε of any client charged without amplification, for
   * each round its update was in (what a reader who knows the sample can claim).
   */
  readonly epsilonUnamplifiedMax?: number;
  /** Local DP: ε when neighbours are any two updates of one client (sensitivity 2S); `epsilon` is for an update against none (sensitivity S). */
  readonly epsilonReplaceOne?: number;
}

/** What every strategy is created with: how many clients a round asks, and how they are drawn. */
export interface StrategyContext {
  readonly sampling: SamplingOptions;
  /** How the clients that evaluate are drawn each round; all of them when absent. */
  readonly evaluateSampling?: SamplingOptions;
  /** Clients the run waits for (the population sampling draws from, at the start). */
  readonly clients: number;
}
