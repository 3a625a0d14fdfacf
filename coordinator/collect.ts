import { TaskError } from '../shared/errors.ts';
import type { FitResult } from '../shared/protocol/messages.ts';
import { clipToNorm, l2Norm } from '../shared/privacy/clip.ts';
import type { RoundLoopOptions, SecAggLoopOptions } from './round-loop.ts';
import { runSecAggRound } from './secagg-round.ts';
import { askAll, compareClients } from './ask-all.ts';
import type { CombinedUpdate, CombineFold } from './strategies/combine/combiner.ts';
import type { FitFailure, FitInstruction, FitOutcome, ResultRecord } from './strategies/strategy.ts';
import type { ClientHandle, FitRequest } from './transport.ts';

/** How a round's updates are gathered: folded or buffered for the strategy (plain), or only their securely aggregated mean. */
export interface Collected {
  /** Each client's result without its update, sorted by client; none with secure aggregation (the coordinator never sees one). */
  readonly results: ResultRecord[];
  /** Plain path, averaging combiners: the results folded in client order as they arrived (CombineFold); finish() combines them. */
  readonly folded?: CombineFold;
  /** Plain path, combiners that need every update at once (median, Krum, trimmed mean): the results, sorted by client. */
  readonly updates?: FitOutcome[];
  /** Secure aggregation: the included clients' decoded mean, already combined. */
  readonly combined?: CombinedUpdate;
  readonly failures: FitFailure[];
  readonly slowestClientTrain: number;
  /** Clients whose updates are in the round. */
  readonly clients: number;
  /** The clients' training metrics: example-weighted means (plain), or secure aggregation's unweighted means of what they sent in the clear; null when none reported one. */
  readonly trainMetrics: TrainMetrics;
  /** Secure aggregation aborted (E_SECAGG_ABORTED): why. */
  readonly aborted?: string;
  readonly errorBound?: number;
}

export interface TrainMetrics {
  readonly loss: number | null;
  readonly accuracy: number | null;
  /** Regression: the training MAE (`loss` is then the mean squared error). */
  readonly mae: number | null;
  /** gan: the generator's loss (`loss` is then the discriminator's). */
  readonly generatorLoss: number | null;
}

/**
 * Plain fit: every chosen client's delta, until all answered or the round's deadline.
 * With maxUpdateNorm, each delta is bounded (boundUpdate) before the strategy sees it.
 *
 * An averaging strategy's combiner folds each update in as it arrives (Combiner.fold), so the
 * round holds one running sum, not every client's update. The fold goes in client order, whatever
 * the arrival order: an update that arrives before those ahead of it waits for them (a client
 * that fails or misses the deadline is passed over), so the bytes of the aggregate are those of
 * combining the sorted results at once. Results arriving in about client order — the in-memory
 * transport sends tasks in that order — keep only a few waiting.
 */
export async function collectPlain(
  options: RoundLoopOptions,
  round: number,
  instructions: readonly FitInstruction[],
  handles: Map<string, ClientHandle>,
  fitRequest: (ins: FitInstruction, h: ClientHandle) => FitRequest,
  dimension: number,
): Promise<Collected> {
  const chosen = [...instructions].sort((a, b) => compareClients(a.client, b.client));
  const fold = guarded(options.strategy.combiner.fold?.({ round, minResults: options.minFitClients, dimension }));
  const inOrder = inClientOrder(chosen.length, (outcome) => (fold ? fold.add(outcome) : updates.push(outcome)));
  const updates: FitOutcome[] = [];
  const position = new Map(chosen.map((ins, i) => [ins, i]));
  const replies = await askAll(chosen, options.roundTimeoutMs, async (ins, signal): Promise<Accepted> => {
    const i = position.get(ins)!;
    let outcome: FitOutcome | undefined;
    try {
      const handle = handles.get(ins.client.id);
      if (!handle) throw new TaskError('other', `strategy chose unknown client ${ins.client.id}`);
      const accepted = accept(options, round, ins, await handle.fit(fitRequest(ins, handle), signal));
      if ('reason' in accepted) throw new TaskError('rejected', accepted.reason);
      outcome = accepted.outcome;
      return { record: withoutUpdate(outcome), seconds: accepted.seconds };
    } finally {
      inOrder.settle(i, outcome);
    }
  });
  const results: ResultRecord[] = [];
  let slowestClientTrain = 0;
  const failures: FitFailure[] = [];
  for (const reply of replies) {
    const client = { id: reply.target.client.id, name: reply.target.client.name };
    if (!('value' in reply)) failures.push({ client, reason: reply.reason, kind: reply.kind });
    else {
      results.push({ ...reply.value.record, seconds: reply.value.seconds });
      slowestClientTrain = Math.max(slowestClientTrain, reply.value.seconds);
    }
  }
  const trainMetrics = {
    loss: weightedMetric(results, 'loss'),
    accuracy: weightedMetric(results, 'accuracy'),
    mae: weightedMetric(results, 'mae'),
    generatorLoss: weightedMetric(results, 'generatorLoss'),
  };
  return { results, ...(fold ? { folded: fold } : { updates }), failures, slowestClientTrain, clients: results.length, trainMetrics };
}

/**
 * A fold whose add never throws into the collection (where the error would land on whichever
 * client's answer happened to drain the queue, and stop the draining): the first error is kept
 * and thrown by finish(), where the round loop meets a combiner's errors as it meets combine's.
 */
function guarded(fold: CombineFold | undefined): CombineFold | undefined {
  if (!fold) return undefined;
  let failed: { error: unknown } | undefined;
  return {
    add(result) {
      if (failed) return;
      try {
        fold.add(result);
      } catch (error) {
        failed = { error };
      }
    },
    finish() {
      if (failed) throw failed.error;
      return fold.finish();
    },
  };
}

/** A result the round keeps: its record, and the seconds the client says it trained. */
interface Accepted {
  readonly record: ResultRecord;
  readonly seconds: number;
}

/** A client's fit result as the round takes it (partial work marked, its update bounded by maxUpdateNorm), or why it is not taken. */
function accept(
  options: RoundLoopOptions,
  round: number,
  ins: FitInstruction,
  r: FitResult,
): { readonly outcome: FitOutcome; readonly seconds: number } | { readonly reason: string } {
  const client = { id: ins.client.id, name: ins.client.name };
  const ran = r.metrics.epochs;
  const partial = ran !== undefined && ran < ins.config.epochs;
  const bounded = options.maxUpdateNorm === undefined ? { delta: r.delta } : boundUpdate(r.delta, options.maxUpdateNorm, options.maxUpdateNormAction ?? 'drop');
  if ('reason' in bounded) return bounded;
  if (bounded.norm !== undefined)
    options.log.warn(
      { round, client: client.name, norm: bounded.norm },
      `round ${round}: ${client.name}'s update norm ${formatNorm(bounded.norm)} clipped to maxUpdateNorm ${options.maxUpdateNorm}`,
    );
  return { outcome: { client, numExamples: r.numExamples, delta: bounded.delta, metrics: r.metrics, partial }, seconds: r.seconds };
}

function withoutUpdate({ delta: _delta, ...record }: FitOutcome): ResultRecord {
  return record;
}

/**
 * Hands results to `take` in position order 0..n−1 as they settle in any order: a position
 * settles with its outcome, or with none (a failure, which is passed over). Only outcomes
 * that arrived ahead of an unsettled position are held.
 */
export function inClientOrder(n: number, take: (outcome: FitOutcome) => void): { settle(position: number, outcome: FitOutcome | undefined): void } {
  const waiting = new Map<number, FitOutcome | undefined>();
  let next = 0;
  return {
    settle(position, outcome) {
      if (position < next || waiting.has(position)) return;
      waiting.set(position, outcome);
      while (next < n && waiting.has(next)) {
        const o = waiting.get(next);
        waiting.delete(next);
        next++;
        if (o) take(o);
      }
    },
  };
}

/** Σ n_k m_k / Σ n_k over the results that report metric `key` as a finite number; null when none does. */
function weightedMetric(results: readonly ResultRecord[], key: string): number | null {
  let sum = 0;
  let n = 0;
  for (const r of results) {
    const v = r.metrics[key];
    if (v === undefined || !Number.isFinite(v)) continue;
    sum += v * r.numExamples;
    n += r.numExamples;
  }
  return n > 0 ? sum / n : null;
}

/**
 * Secure aggregation (coordinator/secagg-round.ts): this path never sees an individual
 * delta, only the decoded mean of the included clients, which goes to the server step as
 * the round's combined update. An abort (too many dropouts) skips the round; the run goes on.
 */
export async function collectSecure(
  options: RoundLoopOptions,
  s: SecAggLoopOptions,
  round: number,
  instructions: readonly FitInstruction[],
  handles: Map<string, ClientHandle>,
  fitRequest: (ins: FitInstruction, h: ClientHandle) => FitRequest,
  dimension: number,
): Promise<Collected> {
  const chosen = [...instructions].sort((a, b) => compareClients(a.client, b.client));
  const participants = chosen.flatMap((ins) => {
    const handle = handles.get(ins.client.id);
    return handle ? [{ handle, fit: fitRequest(ins, handle) }] : [];
  });
  const r = await runSecAggRound({
    round,
    runId: s.runId,
    participants,
    dimension,
    clip: s.clip,
    weightCap: s.weightCap,
    threshold: s.threshold,
    neighbours: s.neighbours,
    phaseTimeoutMs: options.roundTimeoutMs,
    log: options.log,
  });
  // any secure-aggregation failure of this round (too many dropouts, a sum outside the clip, parameters this
  // round's n cannot meet) skips the round; the run goes on
  if ('aborted' in r) return { results: [], failures: [...r.failures], slowestClientTrain: 0, clients: 0, trainMetrics: NO_METRICS, aborted: r.aborted };
  return {
    results: [],
    combined: { delta: r.mean, clients: r.included.length },
    failures: [...r.failures],
    slowestClientTrain: r.slowestClientTrain,
    clients: r.included.length,
    trainMetrics: {
      loss: r.metrics.loss ?? null,
      accuracy: r.metrics.accuracy ?? null,
      mae: r.metrics.mae ?? null,
      generatorLoss: r.metrics.generatorLoss ?? null,
    },
    errorBound: r.errorBound,
  };
}

const NO_METRICS: TrainMetrics = { loss: null, accuracy: null, mae: null, generatorLoss: null };

/**
 * maxUpdateNorm on one update (a pure function): kept as it is when its L2 norm is within
 * `max`; above it, dropped with the reason the round records, or scaled down to norm
 * `max` (a new array; `norm` then says what it was). A single hostile or diverged client
 * can otherwise move a weighted mean arbitrarily far (a finite 1e30 delta makes every
 * client's next training NaN) — this bounds its influence whatever the strategy.
 */
export function boundUpdate(
  delta: Float32Array,
  max: number,
  action: 'drop' | 'clip',
): { readonly delta: Float32Array; readonly norm?: number } | { readonly reason: string } {
  const norm = l2Norm(delta);
  if (norm <= max) return { delta };
  if (action === 'drop') return { reason: `update norm ${formatNorm(norm)} exceeds maxUpdateNorm ${max}` };
  return { delta: clipToNorm(delta, max).clipped, norm };
}

/** A norm for a log line: four significant digits (1.414e+30, 12.35). */
function formatNorm(norm: number): string {
  return String(Number(norm.toPrecision(4)));
}
