import { StarlingError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import type { EvaluateOutcome, Strategy } from './strategies/strategy.ts';
import type { ClientHandle } from './transport.ts';
import { askAll, compareClients } from './ask-all.ts';

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
  /** Those clients, sorted by name, each with its reason. */
  readonly failed: readonly { readonly client: string; readonly reason: string }[];
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
export async function evaluateFederated(options: FederatedEvaluationOptions): Promise<FederatedRecord> {
  const handles = new Map(options.available.map((h) => [h.id, h]));
  const chosen = options.strategy.configureEvaluate(options.round, options.available);
  const replies = await askAll(chosen, options.timeoutMs, async (c, signal) => {
    const handle = handles.get(c.id);
    if (!handle) throw new StarlingError('E_TASK', `strategy chose unknown client ${c.id}`);
    const r = await handle.evaluate(
      {
        round: options.round,
        modelVersion: options.round,
        spec: options.spec,
        weights: options.weights,
        trainableWeights: options.trainableWeights,
        frozen: options.frozen,
      },
      signal,
    );
    if (r.numExamples === 0) throw new StarlingError('E_TASK', `client ${c.name} holds no local evaluation rows (start it with --local-validation f)`);
    return r;
  });
  const results: EvaluateOutcome[] = [];
  const failed: { client: { id: string; name: string }; reason: string }[] = [];
  for (const reply of replies) {
    const client = { id: reply.target.id, name: reply.target.name };
    if ('value' in reply) results.push({ client, numExamples: reply.value.numExamples, metrics: reply.value.metrics });
    else {
      failed.push({ client, reason: reply.reason });
      options.log.warn({ round: options.round, client: client.name, reason: reply.reason }, `round ${options.round} evaluation: ${reply.reason}`);
    }
  }
  results.sort((a, b) => compareClients(a.client, b.client));
  failed.sort((a, b) => compareClients(a.client, b.client));
  const aggregate = options.strategy.aggregateEvaluate(options.round, results);
  return {
    clients: results.length,
    failures: failed.length,
    failed: failed.map((f) => ({ client: f.client.name, reason: f.reason })),
    numExamples: aggregate.numExamples,
    metrics: aggregate.metrics,
    perClient: results.map((r) => ({ client: r.client.name, numExamples: r.numExamples, metrics: r.metrics })),
  };
}
