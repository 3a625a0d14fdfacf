import { createCipheriv, createHash } from 'node:crypto';
import { SecAggClient, SecAggServer, type SecAggConfig, type SecAggResult, type ShareKeys, type UnmaskResponse } from '../../../shared/secagg/index.ts';
import type { RandomSource } from '../../../shared/secagg/shamir.ts';

/** A reproducible byte stream (ChaCha20 under SHA-256(label)) for tests that must not flake. */
export function seededRandom(label: string): RandomSource {
  const key = createHash('sha256').update(label).digest();
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16));
  return (bytes) => new Uint8Array(cipher.update(Buffer.alloc(bytes)));
}

export interface RoundPlan {
  /** Clients that never advertise keys. */
  silent?: number[];
  /** Clients that advertise keys but drop before sending shares. */
  dropBeforeShares?: number[];
  /** Clients that send shares but drop before their masked input. */
  dropAfterShares?: number[];
  /** Clients that send their masked input but drop before unmasking. */
  dropAfterMasked?: number[];
  /** Tamper with messages in flight. */
  tamperShares?: (msg: ShareKeys) => ShareKeys;
  tamperUnmask?: (msg: UnmaskResponse) => UnmaskResponse;
  random?: (index: number) => RandomSource;
}

/** The coordinator's relay, in process: every client's inputs (already encoded) through the four phases. */
export function runRound(
  config: SecAggConfig,
  inputs: Map<number, Uint32Array>,
  plan: RoundPlan = {},
): { result: SecAggResult; server: SecAggServer; clients: Map<number, SecAggClient> } {
  const server = new SecAggServer(config);
  const clients = new Map<number, SecAggClient>();
  for (const [i] of inputs) clients.set(i, new SecAggClient(config, i, plan.random ? { random: plan.random(i) } : {}));
  const has = (list: number[] | undefined, i: number) => list?.includes(i) ?? false;
  for (const [i, c] of clients) if (!has(plan.silent, i)) expectAccepted(server.receiveAdvertisement(c.advertiseKeys()));
  const roster = server.closeAdvertising();
  for (const k of roster.keys) {
    if (has(plan.dropBeforeShares, k.from)) continue;
    const msg = clients.get(k.from)!.shareKeys(roster);
    server.receiveShareKeys(plan.tamperShares ? plan.tamperShares(msg) : msg);
  }
  const deliveries = server.closeShareKeys();
  for (const d of deliveries) {
    if (has(plan.dropAfterShares, d.to)) continue;
    server.receiveMaskedInput(clients.get(d.to)!.maskedInput(d, inputs.get(d.to)!));
  }
  const request = server.closeMaskedInput();
  for (const u of request.survivors) {
    if (has(plan.dropAfterMasked, u)) continue;
    const msg = clients.get(u)!.unmask(request);
    server.receiveUnmask(plan.tamperUnmask ? plan.tamperUnmask(msg) : msg);
  }
  return { result: server.finish(), server, clients };
}

function expectAccepted(v: { accepted: boolean; reason?: string }): void {
  if (!v.accepted) throw new Error(`unexpected rejection: ${v.reason}`);
}

/** Σ inputs mod 2^32 over `who`. */
export function plainSum(inputs: Map<number, Uint32Array>, who: readonly number[], m: number): Uint32Array {
  const sum = new Uint32Array(m);
  for (const u of who) {
    const x = inputs.get(u)!;
    for (let i = 0; i < m; i++) sum[i] = (sum[i]! + x[i]!) >>> 0;
  }
  return sum;
}
