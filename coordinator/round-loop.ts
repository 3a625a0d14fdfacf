import type { EvalMetrics } from '../shared/engine/engine.ts';
import { AggregationError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import type { FitConfig } from '../shared/protocol/fit-config.ts';
import { deriveSeed } from '../shared/rng.ts';
import { gatherTrainable, scatterTrainable, type TrainableLayout } from '../shared/trainable.ts';
import { evaluateFederated, type FederatedRecord } from './federated-evaluation.ts';
import { secureSum, type RoundSkip } from './strategies/combine/combiner.ts';
import type { PrivacyLedger } from './strategies/combine/privacy-ledger.ts';
import { takeStep } from './strategies/step/server-step.ts';
import type { FitFailure, FitInstruction, ResultRecord, Strategy } from './strategies/strategy.ts';
import type { ClientHandle, FitRequest, Traffic, Transport } from './transport.ts';
import { collectPlain, collectSecure, type Collected } from './collect.ts';

/** One line of the run history. */
export interface RoundRecord {
  readonly round: number;
  /** Central test accuracy after aggregation (null when the run has no evaluation set, or trains a regression model). */
  readonly accuracy: number | null;
  /** Central test loss: a classifier's cross-entropy, a regression model's mean squared error. */
  readonly loss: number | null;
  /** Regression: the central mean absolute error, and R² (absent when the evaluated targets are constant). */
  readonly mae?: number;
  readonly r2?: number;
  /** Wall-clock seconds from sending tasks to the evaluated new model (federated evaluation included). */
  readonly seconds: number;
  /**
   * Seconds from the round before's new model to this round's (for a process's first round,
   * from its tasks going out): the run's pace. Central evaluation may overlap the next round
   * (overlapsEvaluation), so rounds follow each other sooner than each one's `seconds`.
   * Absent in records written before it existed.
   */
  readonly interval?: number;
  /**
   * CPU seconds this process spent over `interval`, every thread (event loop, garbage
   * collection, worker threads): a deployed coordinator's own cost; a simulation's includes its
   * clients and their training. Absent in records written before it existed.
   */
  readonly cpuSeconds?: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly clients: number;
  readonly failures: number;
  /** Results that were partial work (fewer local epochs than asked); kept or dropped as the strategy says. */
  readonly partial: number;
  /** Example-weighted mean of the clients' training metrics. */
  readonly trainLoss: number | null;
  readonly trainAccuracy: number | null;
  /** Regression: example-weighted mean of the clients' training MAE. */
  readonly trainMae?: number;
  /** gan: example-weighted mean of the clients' generator losses (trainLoss is then the discriminator's). */
  readonly trainGeneratorLoss?: number;
  /** With differential privacy: the (ε, δ) spent after this round (RDP accountant) and the clip norm used next. */
  readonly epsilon?: number;
  readonly delta?: number;
  readonly dpClip?: number;
  /** The sampling rate this round was charged at (its sample over the clients available; 1 under local DP). */
  readonly dpSamplingRate?: number;
  /** Whether the client sample was secret (amplification holds) or replayable from the config (simulations). */
  readonly dpSamplingSecret?: boolean;
  /** With a replayable sample: the largest ε of any client without amplification, over the rounds its update was in. */
  readonly epsilonUnamplifiedMax?: number;
  /** Local DP: ε for neighbouring updates of one client (sensitivity 2S); `epsilon` is an update against none (S). */
  readonly epsilonReplaceOne?: number;
  /** Secure aggregation: the per-coordinate bound on the decoded mean's quantization error (1/(2s)). */
  readonly secaggErrorBound?: number;
  /**
   * True when the global model was left unchanged: too few results arrived, secure
   * aggregation aborted, the strategy could not aggregate this round's results (Krum with
   * n ≤ 2f + 2), or the new model was not finite. `skipReason` says which.
   */
  readonly skipped?: boolean;
  readonly skipReason?: string;
  /** The clients' scores of the new model on their own held-out rows; null when federated evaluation is off. */
  readonly federated: FederatedRecord | null;
  /**
   * Where the round's seconds went: until the last result arrived (of which the
   * slowest client spent `slowestClientTrain` training, as it reports), aggregation,
   * central evaluation (its own time: overlapped with the next round, it starts once that
   * round's tasks are out), federated evaluation.
   */
  readonly timings: {
    readonly collect: number;
    readonly slowestClientTrain: number;
    readonly aggregate: number;
    readonly evaluate: number;
    readonly federatedEvaluate: number;
  };
}

export interface RoundLoopOptions {
  readonly transport: Transport;
  readonly strategy: Strategy;
  /** With differential privacy: what the run has spent, recorded after every round (the DP release's own ledger). */
  readonly privacy?: PrivacyLedger;
  readonly spec: ModelSpec;
  readonly initialWeights: Float32Array;
  readonly rounds: number;
  readonly train: FitConfig;
  /** With frozen parameters (train.frozen): deltas cover the trainable values only, strategies aggregate those, and the frozen ones stay as they are. */
  readonly trainable?: TrainableLayout;
  readonly seed: number;
  readonly minFitClients: number;
  readonly roundTimeoutMs: number;
  readonly waitForClientsTimeoutMs: number;
  /** Clients to wait for before this process's first round (all the run's, where later rounds need only minFitClients). */
  readonly firstRoundClients?: number;
  readonly evaluate?: (weights: Float32Array) => Promise<EvalMetrics>;
  /** After central evaluation, have the strategy's chosen clients score the new model on their held-out rows. */
  readonly federatedEvaluation?: boolean;
  /**
   * Evaluate a round's model while the next round's clients train, where that changes no result
   * (overlapsEvaluation); default true. False evaluates each round before the next one starts.
   */
  readonly overlapEvaluation?: boolean;
  /** Stop after the first round whose evaluated accuracy reaches this. */
  readonly targetAccuracy?: number;
  /** Stop after this many rounds without a better evaluated accuracy; the result is then the best model. */
  readonly patience?: number;
  /** The round's learning rate (a schedule); train.lr every round when absent. */
  readonly learningRate?: (round: number) => number;
  /** After each round, with the model it left (what a checkpoint of the round saves). */
  readonly onRound?: (record: RoundRecord, model: RoundModel) => void;
  /** Continue a run from a checkpoint: `initialWeights` is its model, and these the rounds and early-stopping best before it. */
  readonly resume?: { readonly history: readonly RoundRecord[]; readonly best?: BestModel };
  /**
   * Aborting stops the run where it is: the round under way is abandoned (nothing of it is
   * reported) and runRounds returns the last completed round's model, `stopped` set.
   */
  readonly signal?: AbortSignal;
  /** After the round's clients are drawn, before any task goes out. */
  readonly onRoundStart?: (round: number) => void;
  /** Each round's results and failures by client, as they are collected (before onRound reports the round). */
  readonly onClients?: (round: number, results: readonly ResultRecord[], failures: readonly FitFailure[]) => void;
  /** Asked after each round: true ends the run there (a tuning budget that ran out). */
  readonly shouldStop?: () => boolean;
  readonly log: Logger;
  /** Secure aggregation: each round runs the secagg phases instead of plain fit, and the server step gets only the decoded mean. */
  readonly secagg?: SecAggLoopOptions;
  /**
   * Plain path: an update whose L2 norm exceeds this is dropped (a failure) or, with
   * maxUpdateNormAction 'clip', scaled down to it, before the strategy sees it. No bound when absent.
   */
  readonly maxUpdateNorm?: number;
  readonly maxUpdateNormAction?: 'drop' | 'clip';
}

export interface SecAggLoopOptions {
  readonly runId: string;
  readonly clip: number;
  /** Example-weighted mean with weights min(n_k, W)/W; unweighted when absent. */
  readonly weightCap?: number;
  readonly threshold?: number;
  readonly neighbours?: number;
}

export interface RoundLoopResult {
  /** The final model, or with `patience` the best evaluated one. */
  readonly weights: Float32Array;
  readonly history: RoundRecord[];
  /** The round whose model `weights` is, when early stopping chose it. */
  readonly bestRound?: number;
  /** The signal stopped the run before its last round: `weights` is the last completed round's model. */
  readonly stopped?: boolean;
}

/** The early-stopping best: the round with the highest evaluated accuracy so far, and its model. */
export interface BestModel {
  readonly round: number;
  readonly accuracy: number;
  readonly weights: Float32Array;
}

/** The model a round left: the global weights, and with early stopping the best so far. */
export interface RoundModel {
  readonly weights: Float32Array;
  readonly best?: BestModel;
}

/** Rejection of a wait the run's signal cut short. */
class Stopped extends Error {}

/** `p`, or a Stopped rejection as soon as `signal` aborts (`p` then settles unobserved). */
function unlessStopped<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  p.catch(() => {});
  if (signal.aborted) return Promise.reject(new Stopped());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Stopped());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The round loop, in one place: configure → send tasks → collect until all
 * answered or the deadline → aggregate → evaluate (centrally, then optionally on
 * the clients) → record. Transport events
 * never advance it; it awaits them.
 */
export async function runRounds(options: RoundLoopOptions): Promise<RoundLoopResult> {
  const history: RoundRecord[] = [...(options.resume?.history ?? [])];
  // the last completed round's model: what a stop returns
  let kept: RoundModel = { weights: options.initialWeights, best: options.resume?.best };
  try {
    return await rounds(options, history, (model) => {
      kept = model;
    });
  } catch (e) {
    if (!(e instanceof Stopped)) throw e;
    options.log.warn({ round: history.length }, `stopped after round ${history.length}`);
    const { best } = kept;
    return best ? { weights: best.weights, history, bestRound: best.round, stopped: true } : { weights: kept.weights, history, stopped: true };
  }
}

async function rounds(options: RoundLoopOptions, history: RoundRecord[], completed: (model: RoundModel) => void): Promise<RoundLoopResult> {
  const { signal } = options;
  let global = options.initialWeights;
  let best: BestModel | undefined = options.resume?.best;
  // a run resumed after the round that ended it (the process died before it could finish) has no rounds left
  const last = history.at(-1);
  const over = last !== undefined && endsRun(options, last, best);
  if (options.secagg && options.maxUpdateNorm !== undefined) {
    options.log.warn(
      { maxUpdateNorm: options.maxUpdateNorm },
      'maxUpdateNorm does not apply under secure aggregation: the coordinator never sees an individual update (each client clips its own to secaggClip)',
    );
  }
  const overlap = overlapsEvaluation(options);
  /** A round aggregated but not yet evaluated and recorded: with `overlap`, it is finished once the next round's tasks are out. */
  let pending: (() => Promise<boolean>) | undefined;
  let previousModelAt: number | undefined;
  let previousCpu: number | undefined;
  const first = history.length + 1;
  try {
    for (let round = first; !over && round <= options.rounds; round++) {
      if (signal?.aborted) throw new Stopped();
      const wanted = round === first ? Math.max(options.minFitClients, options.firstRoundClients ?? 0) : options.minFitClients;
      // a round still to record is recorded now if this one cannot start at once (its record must not wait on clients)
      if (pending && options.transport.connected().length < wanted && (await takePending())) break;
      const started = await unlessStopped(startRound(round, wanted), signal).catch(async (e: unknown) => {
        // a round held for evaluation is recorded before an error in starting the next ends the run
        if (pending && !(e instanceof Stopped)) await takePending().catch(() => false);
        throw e;
      });
      const { startedAt, cpuFrom, before, handles, instructions, trainableWeights } = started;
      const fitRequest = (ins: FitInstruction, handle: ClientHandle): FitRequest => ({
        round,
        modelVersion: round - 1,
        spec: options.spec,
        weights: global,
        trainableWeights,
        config: ins.config,
        seed: deriveSeed(options.seed, round, nameHash(handle.name)),
      });
      // the tasks go out here, before the first await
      const collecting = unlessStopped(
        options.secagg
          ? collectSecure(options, options.secagg, round, instructions, handles, fitRequest, trainableWeights?.length ?? global.length)
          : collectPlain(options, round, instructions, handles, fitRequest, trainableWeights?.length ?? global.length),
        signal,
      );
      // settled or not, it is awaited below: a rejection while the round before is evaluated is not unhandled
      collecting.catch(() => {});
      if (pending) {
        // the round before is evaluated while this round's clients train (overlapsEvaluation: it cannot end the run);
        // one turn of the event loop first lets the sockets take the frames just sent
        await new Promise((resolve) => setImmediate(resolve));
        await takePending();
      }
      const collected = await collecting;
      const { results, failures } = collected;
      options.onClients?.(round, results, failures);
      const collectedAt = performance.now();
      for (const f of failures) options.log.warn({ round, client: f.client.name, reason: f.reason }, `round ${round}: ${f.reason}`);

      const next = aggregateRound(options.strategy, {
        round,
        collected,
        minResults: options.minFitClients,
        global,
        trainable: options.trainable,
        trainableWeights,
      });
      const skip = 'skip' in next ? next.skip : undefined;
      if ('weights' in next) global = next.weights;
      if (skip) options.log.error({ round, code: skip.code, reason: skip.reason }, `round ${round} skipped, model unchanged: ${skip.reason}`);
      const aggregatedAt = performance.now();
      const cpuAt = cpuSeconds();
      const aggregated: Aggregated = {
        round,
        weights: global,
        // what the record needs, not the updates (a robust combiner's are every client's delta)
        collected: {
          results,
          failures,
          clients: collected.clients,
          trainMetrics: collected.trainMetrics,
          slowestClientTrain: collected.slowestClientTrain,
          errorBound: collected.errorBound,
        },
        skip,
        trafficBefore: before,
        trafficAfter: options.transport.traffic(),
        overlapped: overlap && round < options.rounds,
        at: { startedAt, collectedAt, aggregatedAt },
        interval: (aggregatedAt - (previousModelAt ?? startedAt)) / 1000,
        cpuSeconds: cpuAt - cpuFrom,
      };
      previousModelAt = aggregatedAt;
      previousCpu = cpuAt;
      pending = () => finishRound(aggregated);
      if (!aggregated.overlapped && (await takePending())) break;
    }
  } finally {
    // a round aggregated when the run stopped or failed is not reported (the round under way is abandoned)
    pending = undefined;
  }
  return best ? { weights: best.weights, history, bestRound: best.round } : { weights: global, history };

  /** Waits for the round's clients (the wait ends on the signal: its timer must not hold a stopping process open), then draws them. */
  async function startRound(round: number, wanted: number) {
    await options.transport.waitForClients(wanted, options.waitForClientsTimeoutMs, signal);
    const startedAt = performance.now();
    // CPU is counted from the round before's new model (the first round: from its start)
    const cpuFrom = previousCpu ?? cpuSeconds();
    const before = options.transport.traffic();
    const available = options.transport.connected();
    const handles = handlesById(available);
    const instructions = options.strategy.configureFit(
      round,
      available,
      options.learningRate ? { ...options.train, lr: options.learningRate(round) } : options.train,
    );
    options.onRoundStart?.(round);
    const trainableWeights = options.trainable ? gatherTrainable(global, options.trainable) : undefined;
    return { startedAt, cpuFrom, before, handles, instructions, trainableWeights };
  }

  async function takePending(): Promise<boolean> {
    const finish = pending;
    pending = undefined;
    return finish ? finish() : false;
  }

  /** Evaluates the round's model, records the round; true when the run ends with it. */
  async function finishRound(a: Aggregated): Promise<boolean> {
    const { round, weights, collected, skip } = a;
    const evaluateStartedAt = performance.now();
    const evaluation = options.evaluate ? await unlessStopped(options.evaluate(weights), signal) : undefined;
    const evaluatedAt = performance.now();
    const federated = options.federatedEvaluation
      ? await unlessStopped(
          evaluateFederated({
            round,
            strategy: options.strategy,
            available: options.transport.connected(),
            spec: options.spec,
            weights,
            trainableWeights: options.trainable ? gatherTrainable(weights, options.trainable) : undefined,
            frozen: options.train.frozen,
            timeoutMs: options.roundTimeoutMs,
            log: options.log,
          }),
          signal,
        )
      : null;
    const federatedAt = performance.now();
    // overlapped, the count stops at aggregation (the next round's tasks went out since); otherwise at the round's end, as it did
    const after = a.overlapped ? a.trafficAfter : options.transport.traffic();
    const { results, trainMetrics, slowestClientTrain } = collected;
    const { startedAt, collectedAt, aggregatedAt } = a.at;
    const record: RoundRecord = {
      round,
      accuracy: evaluation?.accuracy ?? null,
      loss: evaluation?.loss ?? null,
      ...(evaluation?.mae !== undefined ? { mae: evaluation.mae } : {}),
      ...(evaluation?.r2 !== undefined ? { r2: evaluation.r2 } : {}),
      seconds: (performance.now() - startedAt) / 1000,
      interval: a.interval,
      cpuSeconds: a.cpuSeconds,
      bytesIn: after.bytesIn - a.trafficBefore.bytesIn,
      bytesOut: after.bytesOut - a.trafficBefore.bytesOut,
      clients: collected.clients,
      failures: collected.failures.length,
      partial: results.filter((r) => r.partial).length,
      trainLoss: trainMetrics.loss,
      trainAccuracy: trainMetrics.accuracy,
      ...(trainMetrics.mae !== null ? { trainMae: trainMetrics.mae } : {}),
      ...(trainMetrics.generatorLoss !== null ? { trainGeneratorLoss: trainMetrics.generatorLoss } : {}),
      ...privacyFields(options.privacy),
      ...(collected.errorBound !== undefined ? { secaggErrorBound: collected.errorBound } : {}),
      ...(skip ? { skipped: true, skipReason: skip.reason } : {}),
      federated,
      timings: {
        collect: (collectedAt - startedAt) / 1000,
        slowestClientTrain,
        aggregate: (aggregatedAt - collectedAt) / 1000,
        evaluate: (evaluatedAt - evaluateStartedAt) / 1000,
        federatedEvaluate: (federatedAt - evaluatedAt) / 1000,
      },
    };
    history.push(record);
    if (options.patience !== undefined && record.accuracy !== null && (!best || record.accuracy > best.accuracy))
      best = { round, accuracy: record.accuracy, weights };
    completed({ weights, best });
    options.onRound?.(record, { weights, best });
    if (endsRun(options, record, best)) return true;
    if (round < options.rounds && options.shouldStop?.()) {
      options.log.info({ round }, `stopping after round ${round} as asked`);
      return true;
    }
    return false;
  }
}

/** A round's new model and what its record needs, between aggregation and evaluation. */
interface Aggregated {
  readonly round: number;
  readonly weights: Float32Array;
  readonly collected: Pick<Collected, 'results' | 'failures' | 'clients' | 'trainMetrics' | 'slowestClientTrain' | 'errorBound'>;
  readonly skip: RoundSkip | undefined;
  readonly trafficBefore: Traffic;
  readonly trafficAfter: Traffic;
  /** Whether the next round's tasks go out before this round is evaluated and recorded. */
  readonly overlapped: boolean;
  readonly at: { readonly startedAt: number; readonly collectedAt: number; readonly aggregatedAt: number };
  readonly interval: number;
  readonly cpuSeconds: number;
}

/** CPU seconds this process has used so far (user and system, all threads). */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Whether a round's central evaluation may run while the next round's clients train: only
 * where nothing the evaluation or the round's record decides can change what the next round
 * sends or how the run ends — no target accuracy, patience or stop check (they decide after
 * evaluation whether there is a next round), no federated evaluation (its tasks would queue
 * behind the next fit), no secure aggregation or differential privacy (their state moves while
 * a round is dispatched). The model bytes and every record are the same either way; the
 * rounds follow each other sooner.
 */
export function overlapsEvaluation(options: RoundLoopOptions): boolean {
  return (
    options.overlapEvaluation !== false &&
    options.evaluate !== undefined &&
    !options.federatedEvaluation &&
    options.targetAccuracy === undefined &&
    options.patience === undefined &&
    options.shouldStop === undefined &&
    options.secagg === undefined &&
    options.privacy === undefined
  );
}

/** Whether `record`'s round ends the run early: it reached the target accuracy, or `patience` rounds passed without a better one. */
function endsRun(options: RoundLoopOptions, record: RoundRecord, best: BestModel | undefined): boolean {
  const { round, accuracy } = record;
  if (accuracy === null) return false;
  if (options.targetAccuracy !== undefined && accuracy >= options.targetAccuracy) {
    options.log.info({ round, accuracy }, `target accuracy ${options.targetAccuracy} reached in round ${round}`);
    return true;
  }
  if (options.patience !== undefined && best && round - best.round >= options.patience) {
    options.log.info({ round, best: best.round }, `no better accuracy for ${options.patience} rounds: stopping, keeping round ${best.round}'s model`);
    return true;
  }
  return false;
}

/**
 * The round's new global model, or why the round is skipped: secure aggregation aborted;
 * the combiner decided so about a short round (differential privacy releases or charges it
 * instead, so a release never hinges on an un-noised count); the combiner cannot combine
 * these results (an AggregationError: Krum with too few updates); or the server step's model
 * holds NaN or ±∞ (its state then stays as it was). Secure aggregation's mean arrives
 * combined and goes to the server step as it is. With frozen parameters the strategy sees
 * the trainable vector; the frozen values are put back around it unchanged. Any other error
 * is a bug and ends the run.
 */
export function aggregateRound(
  strategy: Strategy,
  r: {
    readonly round: number;
    readonly collected: Collected;
    readonly minResults: number;
    readonly global: Float32Array;
    readonly trainable: TrainableLayout | undefined;
    readonly trainableWeights: Float32Array | undefined;
  },
): { readonly weights: Float32Array } | { readonly skip: RoundSkip } {
  const { global, trainable, trainableWeights } = r;
  const base = trainable && trainableWeights ? trainableWeights : global;
  if (r.collected.aborted !== undefined) return { skip: { code: 'E_SECAGG_ABORTED', reason: r.collected.aborted } };
  try {
    const { combined, folded, updates } = r.collected;
    const combination = combined
      ? secureSum(combined, r.minResults)
      : folded
        ? folded.finish()
        : strategy.combiner.combine({ round: r.round, results: updates ?? [], minResults: r.minResults, dimension: base.length });
    if (combination.kind === 'skipped') return { skip: combination.skip };
    if (combination.kind === 'nothing') return { weights: global };
    const next = takeStep(strategy.step, base, combination.update, strategy.name);
    combination.accept?.();
    return { weights: trainable && trainableWeights ? scatterTrainable(next, global, trainable) : next };
  } catch (err) {
    if (err instanceof AggregationError) return { skip: { code: 'E_AGGREGATION', reason: err.message } };
    throw err;
  }
}

/** The clients by id; made once for a population the transport hands over again unchanged (the same array). */
function handlesById(available: ClientHandle[]): Map<string, ClientHandle> {
  let map = byId.get(available);
  if (!map) {
    map = new Map(available.map((h) => [h.id, h]));
    byId.set(available, map);
  }
  return map;
}

const byId = new WeakMap<readonly ClientHandle[], Map<string, ClientHandle>>();

/** A stable 32-bit hash of a client name (FNV-1a), so per-client seeds do not depend on connection order. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The privacy spent so far, when the run accounts for it (differential privacy). */
function privacyFields(
  privacy: PrivacyLedger | undefined,
): Pick<RoundRecord, 'epsilon' | 'delta' | 'dpClip' | 'dpSamplingRate' | 'dpSamplingSecret' | 'epsilonUnamplifiedMax' | 'epsilonReplaceOne'> {
  if (!privacy) return {};
  const p = privacy.report();
  return {
    epsilon: p.epsilon,
    delta: p.delta,
    dpClip: p.clip,
    dpSamplingRate: p.samplingRate,
    dpSamplingSecret: p.samplingSecret,
    ...(p.epsilonUnamplifiedMax !== undefined ? { epsilonUnamplifiedMax: p.epsilonUnamplifiedMax } : {}),
    ...(p.epsilonReplaceOne !== undefined ? { epsilonReplaceOne: p.epsilonReplaceOne } : {}),
  };
}
