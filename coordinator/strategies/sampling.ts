import { randomInt } from 'node:crypto';
import { deriveSeed, mulberry32, shuffleInPlace, type Rng } from '../../shared/rng.ts';
import { clientsPerRound } from '../../shared/strategy-spec.ts';
import type { ClientInfo, StrategyContext } from './strategy.ts';

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
  /**
   * Draw the sample from this instead of a stream seeded by `seed` and the round: a secret
   * source (secretRng) makes the sample unknowable from the config, which central DP's
   * amplification by sampling assumes. The size of the sample does not change.
   */
  readonly random?: Rng;
}

/** How many clients a full round asks: C of the run's clients, at least the minimum, at most all. */
export function fullRound(ctx: StrategyContext): number {
  return clientsPerRound({ clients: ctx.clients, fraction: ctx.sampling.fraction, min: ctx.sampling.min });
}

/** Uniforms in [0, 1) from the OS's CSPRNG (47 bits each; randomInt's range stops below 2^48): a sample nobody can replay. */
export const secretRng: Rng = () => randomInt(2 ** 47) / 2 ** 47;

export function sampleClients(available: readonly ClientInfo[], round: number, options: SamplingOptions): ClientInfo[] {
  // a population handed over in order already (the in-memory transport's) is not sorted again each round
  const sorted = inOrder(available) ? [...available] : [...available].sort(byNameThenId);
  const k = clientsPerRound({ clients: sorted.length, fraction: options.fraction, min: options.min });
  if (k >= sorted.length) return sorted;
  return shuffleInPlace(sorted, options.random ?? mulberry32(deriveSeed(options.seed, round, 0x53414d50))).slice(0, k);
}

function byNameThenId(a: ClientInfo, b: ClientInfo): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1;
}

/** Whether `clients` are already sorted by name, then id: one pass instead of a sort of 100,000 names. */
function inOrder(clients: readonly ClientInfo[]): boolean {
  for (let i = 1; i < clients.length; i++) if (byNameThenId(clients[i - 1]!, clients[i]!) > 0) return false;
  return true;
}
