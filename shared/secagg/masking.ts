import { SecAggError } from '../errors.ts';
import { KEY_BYTES } from '../crypto/primitives.ts';
import { applyMasks, type MaskTerm } from './mask-kernel.ts';
import { chacha20Keystream, maskKey, maskTerm, PAIRWISE_MASK_LABEL, SELF_MASK_LABEL } from './prg.ts';

/**
 * The masking arithmetic (Bonawitz et al. 2017, §4): client u sends
 *
 *   y_u = x_u + PRG(b_u) + Σ_{v ∈ N(u), v > u} PRG(s_uv) − Σ_{v ∈ N(u), v < u} PRG(s_uv)   (mod 2^32)
 *
 * where b_u is u's self-mask seed and s_uv = X25519(s_u^SK, s_v^PK) = X25519(s_v^SK, s_u^PK)
 * the pair's agreement, expanded under a label naming the (unordered) pair and a salt naming
 * the run and round. N(u) is every other client (SecAgg) or u's neighbours in a seeded ring
 * graph (SecAgg+, Bell et al. 2020). Summed over a set of clients that includes both ends of
 * every pair, the pairwise masks cancel.
 */
export interface RoundContext {
  readonly runId: string;
  readonly round: number;
}

/** The HKDF salt (and AEAD context) binding every derived key to one run and round. */
export function roundSalt(context: RoundContext): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(['starling-secagg-v1', context.runId, context.round]));
}

export function pairwiseLabel(u: number, v: number): string {
  return `${PAIRWISE_MASK_LABEL} ${Math.min(u, v)}-${Math.max(u, v)}`;
}

/** +1 when u adds the pair's mask (v > u), −1 when it subtracts it. */
export function pairSign(u: number, v: number): 1 | -1 {
  return v > u ? 1 : -1;
}

/**
 * The masks client u adds to its input: +PRG(b_u), and ±PRG(s_uv) for each neighbour v
 * (keyed by index) in the direction pairSign() gives.
 */
export function maskTerms(u: number, selfSeed: Uint8Array, pairSeeds: ReadonlyMap<number, Uint8Array>, salt: Uint8Array): MaskTerm[] {
  const terms = [maskTerm(selfSeed, salt, SELF_MASK_LABEL, 1)];
  for (const [v, seed] of pairSeeds) {
    if (v === u) throw new SecAggError('E_SECAGG_INVALID', `client ${u} cannot hold a pairwise mask with itself`);
    terms.push(maskTerm(seed, salt, pairwiseLabel(u, v), pairSign(u, v)));
  }
  return terms;
}

/** y_u from u's encoded input, its self-mask seed and the agreements with its neighbours (keyed by index). */
export function maskInput(u: number, encoded: Uint32Array, selfSeed: Uint8Array, pairSeeds: ReadonlyMap<number, Uint8Array>, salt: Uint8Array): Uint32Array {
  const y = encoded.slice();
  applyMasks(y, maskTerms(u, selfSeed, pairSeeds, salt));
  return y;
}

/** The term that removes a survivor's self-mask from the sum: −PRG(b_u). */
export function selfMaskRemoval(selfSeed: Uint8Array, salt: Uint8Array): MaskTerm {
  return maskTerm(selfSeed, salt, SELF_MASK_LABEL, -1);
}

/** The term that cancels survivor u's pairwise mask with dropped client v: −sign_u(v)·PRG(s_uv). */
export function pairwiseMaskRemoval(u: number, v: number, pairSeed: Uint8Array, salt: Uint8Array): MaskTerm {
  return maskTerm(pairSeed, salt, pairwiseLabel(u, v), pairSign(u, v) === 1 ? -1 : 1);
}

/** SecAgg+ parameters: each client is paired with `degree` others (degree/2 each side on a seeded ring). */
export interface NeighbourGraph {
  readonly degree: number;
  /** Public, chosen per round by the coordinator and sent with the round's parameters. */
  readonly seed: Uint8Array;
}

/** A uniform permutation of `items`, Fisher–Yates driven by ChaCha20 under HKDF(seed, salt). */
function seededShuffle(items: readonly number[], seed: Uint8Array, salt: Uint8Array): number[] {
  const out = [...items];
  const view = (label: string, bytes: number): DataView => {
    const ks = chacha20Keystream(maskKey(seed, salt, label), bytes);
    return new DataView(ks.buffer, ks.byteOffset, ks.byteLength);
  };
  // 8 words per draw is plenty (a draw is rejected with probability < range/2^32); more are derived if ever needed
  let stream = view('starling secagg+ neighbour graph', 32 * Math.max(out.length, 1));
  let w = 0;
  let refills = 0;
  const next = (): number => {
    if (4 * (w + 1) > stream.byteLength) {
      stream = view(`starling secagg+ neighbour graph ${++refills}`, 4096);
      w = 0;
    }
    return stream.getUint32(4 * w++, true);
  };
  for (let i = out.length - 1; i > 0; i--) {
    const range = i + 1;
    const limit = Math.floor(2 ** 32 / range) * range;
    let r = next();
    while (r >= limit) r = next();
    const j = r % range;
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The SecAgg+ ring (a seeded permutation of the sorted roster), or null where every pair is neighbours. */
function ringOf(sorted: readonly number[], salt: Uint8Array, graph: NeighbourGraph | undefined): number[] | null {
  return !graph || graph.degree >= sorted.length - 1 ? null : seededShuffle(sorted, graph.seed, salt);
}

/** The neighbours of the client at position p of the ring: degree/2 on each side, ascending. */
function ringNeighbours(ring: readonly number[], p: number, degree: number): number[] {
  const mine = new Set<number>();
  for (let d = 1; d <= degree / 2; d++) {
    mine.add(ring[(p + d) % ring.length]!);
    mine.add(ring[(p - d + ring.length) % ring.length]!);
  }
  mine.delete(ring[p]!);
  return [...mine].sort((a, b) => a - b);
}

/**
 * Each client's neighbours among `roster`: every other client without a graph (SecAgg);
 * with one (SecAgg+), the degree/2 clients on each side of it on a ring laid out by a seeded
 * permutation of the roster — a deterministic function of (roster, seed, round), so the
 * coordinator and every client compute the same graph. The relation is symmetric.
 */
export function neighbourhoods(roster: readonly number[], salt: Uint8Array, graph?: NeighbourGraph): Map<number, number[]> {
  const sorted = [...roster].sort((a, b) => a - b);
  const result = new Map<number, number[]>();
  const ring = ringOf(sorted, salt, graph);
  if (!ring) {
    for (const u of sorted)
      result.set(
        u,
        sorted.filter((v) => v !== u),
      );
    return result;
  }
  ring.forEach((u, p) => {
    result.set(u, ringNeighbours(ring, p, graph!.degree));
  });
  return result;
}

/** neighbourhoods(roster, salt, graph).get(u), without the n − 1 lists a client does not need ([] when u is not in the roster). */
export function neighboursOf(u: number, roster: readonly number[], salt: Uint8Array, graph?: NeighbourGraph): number[] {
  const sorted = [...roster].sort((a, b) => a - b);
  if (!sorted.includes(u)) return [];
  const ring = ringOf(sorted, salt, graph);
  return ring ? ringNeighbours(ring, ring.indexOf(u), graph!.degree) : sorted.filter((v) => v !== u);
}

export function checkGraph(graph: NeighbourGraph | undefined): void {
  if (!graph) return;
  if (!Number.isInteger(graph.degree) || graph.degree < 2 || graph.degree % 2 !== 0)
    throw new SecAggError('E_SECAGG_INVALID', `SecAgg+ degree ${graph.degree} must be an even integer ≥ 2`);
  if (graph.seed.length !== KEY_BYTES) throw new SecAggError('E_SECAGG_INVALID', `SecAgg+ graph seed must be ${KEY_BYTES} bytes, not ${graph.seed.length}`);
}
