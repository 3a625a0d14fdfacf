import { randomBytes } from 'node:crypto';
import { SecAggError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { SecAggResultMessage } from '../shared/protocol/messages.ts';
import {
  decodeSum,
  encodingRange,
  fixedPoint,
  maskWorkers,
  SecAggServer,
  sumErrorBound,
  weightedMean,
  type SecAggConfig,
  type Verdict,
} from '../shared/secagg/index.ts';
import type { ClientInfo, FitFailure } from './strategies/strategy.ts';
import type { ClientHandle, FitRequest, SecAggRequest } from './transport.ts';
import { askAll } from './ask-all.ts';

/**
 * The coordinator's side of one securely aggregated round, over the real
 * connections: advertise keys → share keys → masked input → unmask, each phase a task to
 * every client still in the round, with its own deadline. A client that fails, disconnects
 * or misses a phase's deadline is a dropout; the SecAggServer decides what that means.
 *
 * What this code path holds, by construction: public keys, ciphertexts it cannot open, each
 * masked vector only for as long as it takes to hand it to `server.receiveMaskedInput` (it is
 * never decoded or summed here), the revealed shares, and finally the unmasked SUM. Only the
 * sum is decoded; the mean `sum / |U3|` is what leaves this module.
 *
 * The mean is unweighted (every included client counts once) unless `weightCap` W is set:
 * then each client masks [w_k·Δ_k, w_k], w_k = min(n_k, W)/W, and the mean is Σw_kΔ_k / Σw_k.
 */
export interface SecAggRoundOptions {
  readonly round: number;
  readonly runId: string;
  /** The round's clients with their fit requests (the strategy's choice), in a fixed order: index i+1 is participants[i]. */
  readonly participants: readonly { readonly handle: ClientHandle; readonly fit: FitRequest }[];
  /** Words in every vector: the trainable parameter count. */
  readonly dimension: number;
  /** C: each client clips its delta to L2 norm C, and every coordinate lies in [−C, C]. */
  readonly clip: number;
  /** W: example-weighted mean with weights min(n_k, W)/W (shared/secagg/weighting.ts); unweighted when absent. */
  readonly weightCap?: number;
  /** t; when absent defaultThreshold(n, k) for the round's k: ⌈2n/3⌉ for all pairs, ⌈2(k+1)/3⌉ with SecAgg+ (at least 2 either way). */
  readonly threshold?: number;
  /** SecAgg+: each client pairs with this many neighbours (even); when absent, defaultNeighbours(n, threshold) for the round's n. */
  readonly neighbours?: number;
  readonly phaseTimeoutMs: number;
  readonly log: Logger;
}

export interface SecAggRoundOutcome {
  /** Σ_{u ∈ U3} Δ_u / |U3|, decoded from the unmasked sum. */
  readonly mean: Float32Array;
  readonly included: readonly ClientInfo[];
  readonly failures: readonly FitFailure[];
  /** The included clients' training metrics (sent in the clear), unweighted means. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly slowestClientTrain: number;
  /** |decoded mean − float mean of the clipped deltas| per coordinate is at most this (1/(2s) unweighted; weighting.ts). */
  readonly errorBound: number;
}

/** A round that could not finish (E_SECAGG_ABORTED: too many dropouts, a sum outside the clip…): why, and who dropped out in which phase. */
export interface SecAggRoundAborted {
  readonly aborted: string;
  readonly failures: readonly FitFailure[];
}

/**
 * Rounds of at most this many clients mask every pair (SecAgg); larger ones default to SecAgg+
 * neighbourhoods. Up to here the full graph is cheap — a client expands at most 64 masks of
 * the model's size (~25 ms for the 101,770-parameter MLP) and a dropout costs the server
 * n − 1 of them — and it gives the protocol's deterministic guarantee, where a sparse
 * graph's holds only with high probability, a probability Bell et al. bound well only as n
 * grows (at n = 64 a log-degree ring would still connect each client to a fifth of the round).
 * Above it the n² masks dominate the round: 100 clients expand 10,000 masks (self-masks
 * included) where 14 neighbours each need 1,500.
 */
export const SECAGG_PLUS_ABOVE = 64;

/**
 * The neighbours k each client masks and shares with when the run does not say: none (all
 * pairs) for n ≤ SECAGG_PLUS_ABOVE, else k = 2⌈log₂ n⌉ — the logarithmic degree of SecAgg+
 * (Bell et al. 2020), ⌈log₂ n⌉ on each side of the ring (14 for 100 clients, 20 for 1,000) —
 * raised to the smallest even k with k + 1 ≥ ⌈3t/2⌉ when the run fixed a threshold t, so a
 * neighbourhood keeps the default's ratio (t of it reconstruct, a third may drop); all pairs
 * again when that reaches n − 1 (t = 67 of 100 clients: all pairs, as before neighbourhoods).
 */
export function defaultNeighbours(n: number, threshold?: number): number | undefined {
  if (n <= SECAGG_PLUS_ABOVE) return undefined;
  // ⌈log₂ n⌉ in integers: the bits of n − 1
  let k = 2 * (32 - Math.clz32(n - 1));
  // a fixed t gets neighbourhoods of at least ⌈3t/2⌉, the default's two-thirds ratio: t of exactly k + 1 would abort on one dropout
  if (threshold !== undefined) {
    const group = Math.ceil((3 * threshold) / 2);
    if (k + 1 < group) k = group - 1 + ((group - 1) % 2);
  }
  return k >= n - 1 ? undefined : k;
}

/**
 * The default threshold for n clients: ⌈2n/3⌉; with SecAgg+ neighbourhoods of k + 1 < n
 * clients, ⌈2(k+1)/3⌉ (secrets are shared within a neighbourhood); at least 2.
 *
 * The trade-off with neighbourhoods: the threshold keeps the full graph's two-thirds ratio,
 * but of a neighbourhood, not of the round. A client's secrets are then safe from the server
 * plus up to t − 1 of its k neighbours colluding (9 of 14 at n = 100, where the full graph
 * allows 66 of 99), and its neighbourhood survives up to k + 1 − t dropouts (5 of 15, where
 * the full graph survives 33 of 100): more dropouts in one neighbourhood abort the round. A
 * lower ratio would tolerate more dropouts but take fewer colluders to expose a client; more
 * than half is the floor that keeps a server that lies about who dropped from collecting both
 * shares of one client from two disjoint halves of its neighbourhood.
 */
export function defaultThreshold(n: number, neighbours?: number): number {
  const group = neighbours !== undefined && neighbours + 1 < n ? neighbours + 1 : n;
  return Math.max(2, Math.ceil((2 * group) / 3));
}

/**
 * Runs the round's four phases; a round that cannot finish is a value (SecAggRoundAborted),
 * not an exception, so its dropouts and their reasons reach the round's record. Only bugs throw.
 */
export async function runSecAggRound(options: SecAggRoundOptions): Promise<SecAggRoundOutcome | SecAggRoundAborted> {
  const n = options.participants.length;
  // the round's n decides: the run's config cannot know how many clients each round samples
  const neighbours = options.neighbours ?? defaultNeighbours(n, options.threshold);
  const threshold = options.threshold ?? defaultThreshold(n, neighbours);
  if (n < 2 || threshold > n) {
    return {
      aborted: `secure aggregation aborted in round ${options.round}: ${n} ${n === 1 ? 'client was' : 'clients were'} chosen, the threshold needs t = ${threshold} (and at least 2)`,
      failures: [],
    };
  }
  // with weighting, one more word carries w_k
  const words = options.dimension + (options.weightCap !== undefined ? 1 : 0);
  const config: SecAggConfig = {
    runId: options.runId,
    round: options.round,
    clients: n,
    threshold,
    dimension: words,
    ...(neighbours !== undefined ? { graph: { degree: neighbours, seed: new Uint8Array(randomBytes(32)) } } : {}),
  };
  const shape = `${neighbours !== undefined ? `SecAgg+ with ${neighbours} neighbours` : 'all pairs'}, t = ${threshold}`;
  options.log.debug(
    { round: options.round, clients: n, threshold, neighbours: neighbours ?? null },
    `round ${options.round}: secure aggregation of ${n} clients, ${shape}`,
  );
  // each phase's wall time, for the debug log: where a slow secure round spends it
  const started = performance.now();
  const phaseMs: Record<string, number> = {};
  let mark = started;
  const lap = (name: string) => {
    const now = performance.now();
    phaseMs[name] = Math.round(now - mark);
    mark = now;
  };
  const server = new SecAggServer(config);
  // the unmasking expands at least a self-mask per client: the mask workers start now, not then
  maskWorkers().warm(words * n);
  const fp = fixedPoint({ clip: encodingRange(options.clip, options.weightCap !== undefined), maxClients: n });
  const byIndex = new Map(options.participants.map((p, i) => [i + 1, p]));
  const reasons = new Map<number, string>();
  /** Each client's training metrics, by index: averaged in index order, so the mean's bits never depend on arrival order. */
  const metrics = new Map<number, Record<string, number>>();
  let slowestClientTrain = 0;

  /**
   * Sends one phase to `who` and hands each answer to `accept` as it arrives (a masked
   * vector goes to the server at once, never kept); a failure or a rejected answer makes a dropout.
   */
  const phase = async (
    who: readonly number[],
    request: (index: number) => SecAggRequest,
    accept: (index: number, msg: SecAggResultMessage) => Verdict,
  ): Promise<void> => {
    const replies = await askAll(who, options.phaseTimeoutMs, async (index, signal) => {
      const { handle } = byIndex.get(index)!;
      const verdict = accept(index, await handle.secagg(request(index), signal));
      if (!verdict.accepted) {
        options.log.warn(
          { round: options.round, client: handle.name, reason: verdict.reason },
          `round ${options.round}: secure aggregation dropped ${handle.name}: ${verdict.reason}`,
        );
        throw new Error(verdict.reason);
      }
    });
    for (const r of replies) if ('reason' in r) reasons.set(r.target, r.reason);
  };

  const info = (index: number): ClientInfo => ({ id: byIndex.get(index)!.handle.id, name: byIndex.get(index)!.handle.name });
  const dropout = (d: { readonly index: number; readonly phase: string; readonly reason: string }): FitFailure => ({
    client: info(d.index),
    reason: `secure aggregation, ${d.phase} phase: ${reasons.get(d.index) ?? d.reason}`,
    kind: 'dropout',
  });
  try {
    const all = [...byIndex.keys()];
    await phase(
      all,
      (index) => ({
        phase: 'advertise',
        task: {
          type: 'secagg',
          phase: 'advertise',
          round: options.round,
          index,
          clients: n,
          threshold,
          dimension: words,
          clip: options.clip,
          scale: fp.scale,
          ...(options.weightCap !== undefined ? { weightCap: options.weightCap } : {}),
          ...(config.graph ? { graph: config.graph } : {}),
        },
      }),
      (from, msg) =>
        msg.phase === 'advertise' ? server.receiveAdvertisement({ from, cPk: msg.cPk, sPk: msg.sPk }) : { accepted: false, reason: 'wrong phase' },
    );
    const roster = server.closeAdvertising();
    lap('advertise');
    const keys = roster.keys.map((k) => ({ from: k.from, cPk: k.cPk, sPk: k.sPk }));
    await phase(
      keys.map((k) => k.from),
      () => ({ phase: 'shareKeys', task: { type: 'secagg', phase: 'shareKeys', round: options.round, keys } }),
      (from, msg) => (msg.phase === 'shareKeys' ? server.receiveShareKeys({ from, shares: msg.shares }) : { accepted: false, reason: 'wrong phase' }),
    );
    const deliveries = new Map(server.closeShareKeys().map((d) => [d.to, d]));
    lap('shareKeys');
    await phase(
      [...deliveries.keys()],
      (index) => {
        const d = deliveries.get(index)!;
        return { phase: 'maskedInput', fit: byIndex.get(index)!.fit, senders: d.senders, shares: d.shares.map((s) => ({ ...s })), dimension: words };
      },
      (from, msg) => {
        if (msg.phase !== 'maskedInput') return { accepted: false, reason: 'wrong phase' };
        // complaints cannot be verified: honouring many from one client would let it knock honest clients out
        // (or abort the round); an honest client has one only when a share to it was tampered with
        if (msg.complaints.length > 1)
          return { accepted: false, reason: `complained about ${msg.complaints.length} peers; at most one complaint a round is honoured` };
        const verdict = server.receiveMaskedInput({ from, masked: msg.masked, complaints: msg.complaints });
        if (verdict.accepted) {
          metrics.set(from, { ...msg.metrics });
          slowestClientTrain = Math.max(slowestClientTrain, msg.seconds);
        }
        return verdict;
      },
    );
    const request = server.closeMaskedInput();
    lap('maskedInput');
    const unmask = {
      type: 'secagg' as const,
      phase: 'unmask' as const,
      round: options.round,
      survivors: [...request.survivors],
      dropped: [...request.dropped],
    };
    await phase(
      request.survivors,
      () => ({ phase: 'unmask', task: unmask }),
      (from, msg) =>
        msg.phase === 'unmask'
          ? server.receiveUnmask({ from, selfMaskShares: msg.selfMaskShares, keyShares: msg.keyShares })
          : { accepted: false, reason: 'wrong phase' },
    );
    lap('unmask');
    // the unmasking's mask expansion runs on the mask workers; the connections stay served meanwhile
    const result = await server.finishOffThread();
    lap('finish');
    options.log.debug(
      { round: options.round, phaseMs },
      `round ${options.round}: secure aggregation took ${Math.round(performance.now() - started)} ms (${Object.entries(phaseMs)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    );

    // the only vector decoded on the coordinator: the sum over U3
    const sum = decodeSum(result.sum, fp, result.included.length);
    const { mean, bound } =
      options.weightCap !== undefined
        ? weightedMean(sum, options.clip, sumErrorBound(fp, result.included.length))
        : unweightedMean(sum, result.included.length, sumErrorBound(fp, result.included.length));
    checkMean(mean, options.clip, bound, options.round);
    const included = new Set(result.included);
    const failures = result.dropouts.filter((d) => !included.has(d.index)).map(dropout);
    for (const d of result.dropouts)
      if (included.has(d.index))
        options.log.info(
          { round: options.round, client: info(d.index).name },
          `round ${options.round}: ${info(d.index).name} left while unmasking; its input stays in the sum`,
        );
    return {
      mean,
      included: result.included.map(info),
      failures,
      metrics: meanMetrics(
        // in index order: the server keeps its survivors sorted
        result.included.flatMap((i) => {
          const m = metrics.get(i);
          return m ? [m] : [];
        }),
      ),
      slowestClientTrain,
      errorBound: bound,
    };
  } catch (err) {
    // an aborted round still says who dropped out and why (the round record counts them as failures)
    if (!(err instanceof SecAggError)) throw err;
    return {
      aborted: err.message,
      failures: server.dropouts.map(dropout),
    };
  }
}

/** Ŝ / n for the sum of n unweighted inputs: within e / n = 1/(2s) of the float mean. */
function unweightedMean(sum: Float64Array, n: number, sumError: number): { mean: Float32Array; bound: number } {
  const mean = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) mean[i] = sum[i]! / n;
  return { mean, bound: sumError / n };
}

function meanMetrics(all: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of new Set(all.flatMap((m) => Object.keys(m)))) {
    const values = all.map((m) => m[key]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length) out[key] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  return out;
}

/**
 * A mean of inputs clipped to ‖Δ‖ ≤ C has norm ≤ C (weighted or not), up to the
 * quantization bound per coordinate. One client that masked something else — a huge
 * vector, or a weight word that cancels the others' so the division explodes — is
 * caught here, and the round is skipped instead of writing it into the model.
 */
function checkMean(mean: Float32Array, clip: number, bound: number, round: number): void {
  let sq = 0;
  for (let i = 0; i < mean.length; i++) {
    const v = mean[i]!;
    if (!Number.isFinite(v))
      throw new SecAggError(
        'E_SECAGG_ABORTED',
        `secure aggregation aborted in round ${round}: the decoded mean is not finite at coordinate ${i} (a client masked an input outside the protocol)`,
      );
    sq += v * v;
  }
  const limit = clip + Math.sqrt(mean.length) * bound + 1e-6 * clip;
  if (Math.sqrt(sq) > limit) {
    throw new SecAggError(
      'E_SECAGG_ABORTED',
      `secure aggregation aborted in round ${round}: the decoded mean has norm ${Math.sqrt(sq).toPrecision(4)}, more than the clip ${clip} allows (a client masked an input outside the clip)`,
    );
  }
}
