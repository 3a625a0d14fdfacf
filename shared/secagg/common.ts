import { SecAggError } from '../errors.ts';
import { checkGraph, type NeighbourGraph, type RoundContext } from './masking.ts';

/** A round's parameters, the same on the server and every client (the phases are in messages.ts). */
export interface SecAggConfig extends RoundContext {
  /** n: the clients invited to the round, with indices 1..n (also the Shamir x-coordinates). */
  readonly clients: number;
  /** t: shares needed to reconstruct a secret, and the fewest participants any phase accepts. */
  readonly threshold: number;
  /** m: words in every input vector. */
  readonly dimension: number;
  /** SecAgg+: masks and shares only between neighbours in this graph (absent: all pairs). */
  readonly graph?: NeighbourGraph;
}

/** Throws E_SECAGG_INVALID for parameters no round can run with; both state machines check them on construction. */
export function checkConfig(config: SecAggConfig): void {
  const { clients: n, threshold: t, dimension: m } = config;
  if (!Number.isInteger(n) || n < 2) throw new SecAggError('E_SECAGG_INVALID', `secure aggregation needs n ≥ 2 clients, not ${n}`);
  if (!Number.isInteger(t) || t < 2 || t > n) throw new SecAggError('E_SECAGG_INVALID', `threshold t = ${t} must be an integer in 2..n (n = ${n})`);
  if (!Number.isInteger(m) || m < 1) throw new SecAggError('E_SECAGG_INVALID', `dimension m = ${m} must be a positive integer`);
  if (!Number.isInteger(config.round) || config.round < 0) throw new SecAggError('E_SECAGG_INVALID', `round ${config.round} must be a non-negative integer`);
  checkGraph(config.graph);
  if (config.graph && config.graph.degree + 1 < t) {
    throw new SecAggError(
      'E_SECAGG_INVALID',
      `SecAgg+ degree ${config.graph.degree} gives neighbourhoods of ${config.graph.degree + 1} clients, fewer than t = ${t}: no secret could be reconstructed`,
    );
  }
}

/** The round cannot go on: `count` clients `what`, fewer than t. */
export function aborted(config: SecAggConfig, count: number, what: string): SecAggError {
  return new SecAggError(
    'E_SECAGG_ABORTED',
    `secure aggregation aborted in round ${config.round}: only ${count} ${count === 1 ? 'client' : 'clients'} ${what}, ${config.threshold} needed (t = ${config.threshold} of n = ${config.clients})`,
  );
}

/** Whether a peer-supplied value names an invited client (1..n). */
export function isIndex(config: SecAggConfig, x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= config.clients;
}

/** The first index listed twice, if any: peers' lists are checked for repeats before they are trusted. */
export function duplicates(xs: readonly number[]): number | undefined {
  const seen = new Set<number>();
  for (const x of xs) {
    if (seen.has(x)) return x;
    seen.add(x);
  }
  return undefined;
}

export const ascending = (a: number, b: number) => a - b;
