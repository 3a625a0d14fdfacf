/**
 * One round of secure aggregation (Bonawitz et al. 2017, the honest-but-curious variant;
 * SecAgg+ of Bell et al. 2020 when `graph` is set) as two message-shaped state machines
 * with no I/O: the coordinator relays every message and holds a SecAggServer (server.ts); each
 * client holds a SecAggClient (client.ts). Phases and the messages they exchange:
 *
 *   0 advertise keys  client → server  AdvertiseKeys {from, cPk, sPk}
 *                     server → all     KeyRoster (U1: every accepted advertisement)
 *   1 share keys      client → server  ShareKeys: to each neighbour v, Enc_{c_uv}(share_v(b_u) ‖ share_v(s_u^SK))
 *                     server → each v  ShareDelivery (U2: who sent shares; the ciphertexts addressed to v)
 *   2 masked input    client → server  MaskedInput {y_u, complaints about shares that failed to decrypt}
 *                     server → all     UnmaskRequest (U3: survivors; dropped = U2 \ U3)
 *   3 unmasking       client → server  UnmaskResponse: its shares of b_v for survivors, of s_v^SK for dropped
 *                     server           finish(): Σ_{u ∈ U3} x_u
 *
 * The server only ever holds masked inputs y_u, public keys, ciphertexts it cannot open and
 * the shares revealed in phase 3 — for each client either of b_u or of s_u^SK, never both,
 * which every honest client enforces — so no individual input is ever unmasked on its path.
 * Every phase needs at least t participants; fewer aborts the round with E_SECAGG_ABORTED.
 * A malformed message from a peer drops that peer with a reason (see `dropouts`), it does
 * not throw.
 */
export type SecAggPhase = 'advertise' | 'shareKeys' | 'maskedInput' | 'unmask';

export interface AdvertiseKeys {
  readonly from: number;
  /** X25519 public key for encrypting shares. */
  readonly cPk: Uint8Array;
  /** X25519 public key for pairwise masks. */
  readonly sPk: Uint8Array;
}

/** U1: every client whose keys the server accepted. */
export interface KeyRoster {
  readonly keys: readonly AdvertiseKeys[];
}

export interface EncryptedShare {
  readonly from: number;
  readonly to: number;
  /** ChaCha20-Poly1305 of share(b_from) ‖ share(s_from^SK) for `to`: 128 bytes + 16-byte tag (share-cipher.ts). */
  readonly ciphertext: Uint8Array;
}

export interface ShareKeys {
  readonly from: number;
  readonly shares: readonly EncryptedShare[];
}

/** For client `to`: U2 (the clients whose shares went out) and the ciphertexts addressed to it. */
export interface ShareDelivery {
  readonly to: number;
  readonly senders: readonly number[];
  readonly shares: readonly EncryptedShare[];
}

/** A share addressed to the sender that it could not use; the server drops `about`. */
export interface Complaint {
  readonly about: number;
  readonly reason: string;
}

export interface MaskedInput {
  readonly from: number;
  readonly masked: Uint32Array;
  readonly complaints: readonly Complaint[];
}

/** U3 (whose masked inputs are summed) and the clients of U2 whose pairwise masks must be removed. */
export interface UnmaskRequest {
  readonly survivors: readonly number[];
  readonly dropped: readonly number[];
}

/** The responder's share (x = the responder's index) of client `of`'s secret. */
export interface RevealedShare {
  readonly of: number;
  readonly share: Uint32Array;
}

export interface UnmaskResponse {
  readonly from: number;
  /** Shares of b_v for survivors v. */
  readonly selfMaskShares: readonly RevealedShare[];
  /** Shares of s_v^SK for dropped v. */
  readonly keyShares: readonly RevealedShare[];
}

export interface Dropout {
  readonly index: number;
  readonly phase: SecAggPhase;
  readonly reason: string;
}

export interface SecAggResult {
  /** Σ_{u ∈ included} x_u mod 2^32. */
  readonly sum: Uint32Array;
  /** U3: the clients whose inputs are in the sum, ascending. */
  readonly included: readonly number[];
  /** Everyone invited who left the round, with the phase and why; those that left in phase 'unmask' are still in the sum. */
  readonly dropouts: readonly Dropout[];
}

export type Verdict = { readonly accepted: true } | { readonly accepted: false; readonly reason: string };
