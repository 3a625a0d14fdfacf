import { setMaxListeners } from 'node:events';
import { errorMessage } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import type { EvaluateOutcome, Strategy } from './strategies/strategy.ts';
import type { ClientHandle } from './transport.ts';

/** One client's scores of a round's model, as recorded in the history. */
export interface ClientEvaluation {
  readonly client: string;
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/** A round's federated evaluation as recorded: the aggregate and every client's part. */
export interface FederatedRecord {
  /** Clients whose results were aggregated. */
  readonly clients: number;
  /** Clients asked that failed, disconnected, missed the deadline or hold no evaluation rows. */
  readonly failures: number;
  /** Held-out rows scored over all aggregated clients. */
  readonly numExamples: number;
  /** Each metric's example-weighted mean over the clients (strategy.aggregateEvaluate). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Sorted by client name. */
  readonly perClient: readonly ClientEvaluation[];
}

export interface FederatedEvaluationOptions {
  readonly round: number;
  readonly strategy: Strategy;
  readonly available: readonly ClientHandle[];
  readonly spec: ModelSpec;
  /** The round's new global model, version `round`. */
  readonly weights: Float32Array;
  /** With frozen parameters: the trainable part of `weights` (all a client holding an earlier version needs) and the frozen names. */
  readonly trainableWeights?: Float32Array;
  readonly frozen?: readonly string[];
  readonly timeoutMs: number;
  readonly log: Logger;
}

/**
 * Asks the strategy's chosen clients to score the round's model on their own
 * held-out rows, awaits their results until all answered or the deadline, and
 * aggregates them. A client's failure is logged and counted, never thrown.
 */
export async function evaluateFederated(o: FederatedEvaluationOptions): Promise<FederatedRecord> {
  const handles = new Map(o.available.map((h) => [h.id, h]));
  const chosen = o.strategy.configureEvaluate(o.round, o.available);
  const deadline = new AbortController();
  // one listener per client asked: a round of more than 10 is normal, not a leak
  setMaxListeners(0, deadline.signal);
  const timer = setTimeout(() => deadline.abort(), o.timeoutMs);
  const settled = await Promise.allSettled(
    chosen.map((c) => {
      const handle = handles.get(c.id);
      if (!handle) return Promise.reject(new Error(`strategy chose unknown client ${c.id}`));
      return handle.evaluate({ round: o.round, modelVersion: o.round, spec: o.spec, weights: o.weights, trainableWeights: o.trainableWeights, frozen: o.frozen }, deadline.signal);
    }),
  );
  clearTimeout(timer);
  const results: EvaluateOutcome[] = [];
  let failures = 0;
  settled.forEach((s, i) => {
    const client = { id: chosen[i]!.id, name: chosen[i]!.name };
    const reason =
      s.status === 'rejected' ? errorMessage(s.reason) : s.value.numExamples === 0 ? `client ${client.name} holds no local evaluation rows (start it with --local-validation f)` : undefined;
    if (reason === undefined && s.status === 'fulfilled') results.push({ client, numExamples: s.value.numExamples, metrics: s.value.metrics });
    else {
      failures++;
      o.log.warn({ round: o.round, client: client.name, reason }, `round ${o.round} evaluation: ${reason}`);
    }
  });
  results.sort((a, b) => (a.client.name < b.client.name ? -1 : a.client.name > b.client.name ? 1 : a.client.id < b.client.id ? -1 : 1));
  const aggregate = o.strategy.aggregateEvaluate(o.round, results);
  return {
    clients: results.length,
    failures,
    numExamples: aggregate.numExamples,
    metrics: aggregate.metrics,
    perClient: results.map((r) => ({ client: r.client.name, numExamples: r.numExamples, metrics: r.metrics })),
  };
}
