import { deriveSeed, mulberry32, shuffleInPlace } from '../../shared/rng.ts';
import type { ClientInfo } from './strategy.ts';

/**
 * Client sampling for a round: a fraction C of the available clients, at least
 * `min` (and at most all of them), drawn with a seed derived from the run seed and
 * the round, from the clients sorted by name so connection order does not matter.
 */
export interface SamplingOptions {
  /** Fraction of available clients per round, in (0, 1]. */
  readonly fraction: number;
  /** Fewest clients to ask per round. */
  readonly min: number;
  readonly seed: number;
}

export function sampleClients(available: readonly ClientInfo[], round: number, o: SamplingOptions): ClientInfo[] {
  const sorted = [...available].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));
  const k = Math.min(sorted.length, Math.max(o.min, Math.ceil(o.fraction * sorted.length)));
  if (k >= sorted.length) return sorted;
  return shuffleInPlace(sorted, mulberry32(deriveSeed(o.seed, round, 0x53414d50))).slice(0, k);
}
