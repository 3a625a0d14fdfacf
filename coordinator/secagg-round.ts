import { randomBytes } from 'node:crypto';
import { SecAggError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { SecAggResultMessage } from '../shared/protocol/messages.ts';
import { decodeSum, encodingRange, fixedPoint, SecAggServer, sumErrorBound, weightedMean, type SecAggConfig, type Verdict } from '../shared/secagg/index.ts';
import type { ClientInfo, FitFailure } from './strategies/strategy.ts';
import type { ClientHandle, FitRequest, SecAggRequest } from './transport.ts';
import { askAll } from './ask-all.ts';

/**
 * The coordinator's side of one securely aggregated round (issue 7), over the real
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
  /** t; when absent ⌈2n/3⌉, or with SecAgg+ ⌈2(k+1)/3⌉ of a neighbourhood of k+1 (at least 2 either way). */
  readonly threshold?: number;
  /** SecAgg+: each client pairs with this many neighbours (even); all pairs when absent. */
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

/** The default threshold for n clients: ⌈2n/3⌉; with SecAgg+ neighbourhoods of k + 1 < n clients, ⌈2(k+1)/3⌉ (secrets are shared within a neighbourhood); at least 2. */
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
  const threshold = options.threshold ?? defaultThreshold(n, options.neighbours);
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
    ...(options.neighbours !== undefined ? { graph: { degree: options.neighbours, seed: new Uint8Array(randomBytes(32)) } } : {}),
  };
  const server = new SecAggServer(config);
  const fp = fixedPoint({ clip: encodingRange(options.clip, options.weightCap !== undefined), maxClients: n });
  const byIndex = new Map(options.participants.map((p, i) => [i + 1, p]));
  const reasons = new Map<number, string>();
  const metrics: Record<string, number>[] = [];
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
    const keys = roster.keys.map((k) => ({ from: k.from, cPk: k.cPk, sPk: k.sPk }));
    await phase(
      keys.map((k) => k.from),
      () => ({ phase: 'shareKeys', task: { type: 'secagg', phase: 'shareKeys', round: options.round, keys } }),
      (from, msg) => (msg.phase === 'shareKeys' ? server.receiveShareKeys({ from, shares: msg.shares }) : { accepted: false, reason: 'wrong phase' }),
    );
    const deliveries = new Map(server.closeShareKeys().map((d) => [d.to, d]));
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
          metrics.push({ ...msg.metrics });
          slowestClientTrain = Math.max(slowestClientTrain, msg.seconds);
        }
        return verdict;
      },
    );
    const request = server.closeMaskedInput();
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
    const result = server.finish();

    // the only vector decoded on the coordinator: the sum over U3
    const sum = decodeSum(result.sum, fp, result.included.length);
    const { mean, bound } =
      options.weightCap !== undefined
        ? weightedMean(sum, options.clip, sumErrorBound(fp, result.included.length))
        : unweightedMean(sum, result.included.length, sumErrorBound(fp, result.included.length));
    checkMean(mean, options.clip, bound, options.round);
    const included = new Set(result.included);
    const failures = result.dropouts
      .filter((d) => !included.has(d.index))
      .map((d) => ({ client: info(d.index), reason: `secure aggregation, ${d.phase} phase: ${reasons.get(d.index) ?? d.reason}` }));
    for (const d of result.dropouts)
      if (included.has(d.index))
        options.log.info(
          { round: options.round, client: info(d.index).name },
          `round ${options.round}: ${info(d.index).name} left while unmasking; its input stays in the sum`,
        );
    return { mean, included: result.included.map(info), failures, metrics: meanMetrics(metrics), slowestClientTrain, errorBound: bound };
  } catch (err) {
    // an aborted round still says who dropped out and why (the round record counts them as failures)
    if (!(err instanceof SecAggError)) throw err;
    return {
      aborted: err.message,
      failures: server.dropouts.map((d) => ({ client: info(d.index), reason: `secure aggregation, ${d.phase} phase: ${reasons.get(d.index) ?? d.reason}` })),
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
