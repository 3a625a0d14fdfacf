import type { TaskFailureKind } from '../../shared/errors.ts';
import type { FitConfig } from '../../shared/protocol/fit-config.ts';
import type { Combiner } from './combine/combiner.ts';
import type { SamplingOptions } from './sampling.ts';
import type { ServerStep, StepState } from './step/server-step.ts';
import type { DpState } from './combine/dp-release.ts';

/**
 * The strategy interface, after Flower's with its aggregation in two parts: a strategy
 * decides which clients train with which settings (configureFit), how their results
 * become one update (its combiner), and how that update moves the global model (its
 * server step). Strategies are plain objects; failures arrive as data. After
 * aggregation the new model may also be scored by clients on their own held-out rows
 * (federated evaluation): configureEvaluate picks them, aggregateEvaluate combines
 * their metrics.
 */
export interface ClientInfo {
  readonly id: string;
  readonly name: string;
}

export interface FitInstruction {
  readonly client: ClientInfo;
  readonly config: FitConfig;
}

export interface FitOutcome {
  readonly client: ClientInfo;
  readonly numExamples: number;
  readonly delta: Float32Array;
  readonly metrics: Readonly<Record<string, number>>;
  /** The client ran fewer local epochs than asked (a straggler's partial work). */
  readonly partial?: boolean;
}

/** What a round keeps of a result once its update is combined: who, how many examples, its metrics (the history and the run store record these), and the seconds the client says it trained. */
export type ResultRecord = Omit<FitOutcome, 'delta'> & { readonly seconds?: number };

export interface FitFailure {
  readonly client: ClientInfo;
  readonly reason: string;
  /** Why, in a word (TaskFailureKind): what metrics count failures by. */
  readonly kind: TaskFailureKind;
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
  /** Picks this round's clients and their fit settings (the strategy's client side: FedProx's μ, FedSGD's full batch, local DP's clip and noise). */
  configureFit(round: number, available: readonly ClientInfo[], base: FitConfig): FitInstruction[];
  /** Turns a round's results into one update (the plain path; secure aggregation's mean arrives already combined). */
  readonly combiner: Combiner;
  /** Turns (global, combined update) into the next global model. */
  readonly step: ServerStep;
  /** Picks the clients that score this round's new model on their held-out rows. */
  configureEvaluate(round: number, available: readonly ClientInfo[]): ClientInfo[];
  /** Combines the clients' evaluation results (sorted by client name); a pure function of them. */
  aggregateEvaluate(round: number, results: readonly EvaluateOutcome[]): EvaluateAggregate;
  /** Plain data describing the strategy and its parameters (for the run history). */
  toConfig(): Record<string, unknown>;
  /** What the strategy carries from one round to the next (its server step's state; with DP the clip, account and noise stream), for a checkpoint. */
  snapshot(): StrategyState;
  /** Continues from a snapshot of the same strategy: the rounds after it run as they would have. */
  restore(state: StrategyState): void;
}

export interface StrategyState {
  readonly step: StepState;
  readonly dp?: DpState;
}

/** What every strategy is created with: how many clients a round asks, and how they are drawn. */
export interface StrategyContext {
  readonly sampling: SamplingOptions;
  /** How the clients that evaluate are drawn each round; all of them when absent. */
  readonly evaluateSampling?: SamplingOptions;
  /** Clients the run waits for (the population sampling draws from, at the start). */
  readonly clients: number;
}
