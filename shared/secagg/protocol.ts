import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SecAggError } from '../errors.ts';
import { agree, equalBytes, generateEphemeral, hkdf, KEY_BYTES, X25519_PKCS8 } from '../crypto/primitives.ts';
import { checkGraph, maskInput, neighbourhoods, removePairwiseMask, removeSelfMask, roundSalt, type NeighbourGraph, type RoundContext } from './masking.ts';
import { cryptoRandom, FIELD_PRIME, reconstruct, shareBytes, shareFromBytes, split, type RandomSource, type Share } from './shamir.ts';

/**
 * One round of secure aggregation (Bonawitz et al. 2017, the honest-but-curious variant;
 * SecAgg+ of Bell et al. 2020 when `graph` is set) as two message-shaped state machines
 * with no I/O: the coordinator relays every message and holds a SecAggServer; each client
 * holds a SecAggClient. Phases and the messages they exchange:
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

export type SecAggPhase = 'advertise' | 'share-keys' | 'masked-input' | 'unmask';

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
  /** ChaCha20-Poly1305 of share(b_from) ‖ share(s_from^SK) for `to`: 128 bytes + 16-byte tag. */
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

/** Bytes of one share's plaintext (two 16-limb shares of 32-byte secrets) and ciphertext. */
export const SHARE_LIMBS = KEY_BYTES / 2;
export const SHARE_PLAINTEXT_BYTES = 2 * 4 * SHARE_LIMBS;
export const SHARE_TAG_BYTES = 16;
export const SHARE_CIPHERTEXT_BYTES = SHARE_PLAINTEXT_BYTES + SHARE_TAG_BYTES;

const ACCEPTED: Verdict = { accepted: true };
const reject = (reason: string): Verdict => ({ accepted: false, reason });
const ZERO_NONCE = Buffer.alloc(12);

export function checkConfig(config: SecAggConfig): void {
  const { clients: n, threshold: t, dimension: m } = config;
  if (!Number.isInteger(n) || n < 2) throw new SecAggError('E_SECAGG_INVALID', `secure aggregation needs n ≥ 2 clients, not ${n}`);
  if (!Number.isInteger(t) || t < 2 || t > n) throw new SecAggError('E_SECAGG_INVALID', `threshold t = ${t} must be an integer in 2..n (n = ${n})`);
  if (!Number.isInteger(m) || m < 1) throw new SecAggError('E_SECAGG_INVALID', `dimension m = ${m} must be a positive integer`);
  if (!Number.isInteger(config.round) || config.round < 0) throw new SecAggError('E_SECAGG_INVALID', `round ${config.round} must be a non-negative integer`);
  checkGraph(config.graph);
  if (config.graph && config.graph.degree + 1 < t) {
    throw new SecAggError('E_SECAGG_INVALID', `SecAgg+ degree ${config.graph.degree} gives neighbourhoods of ${config.graph.degree + 1} clients, fewer than t = ${t}: no secret could be reconstructed`);
  }
}

function aborted(config: SecAggConfig, count: number, what: string): SecAggError {
  return new SecAggError(
    'E_SECAGG_ABORTED',
    `secure aggregation aborted in round ${config.round}: only ${count} ${count === 1 ? 'client' : 'clients'} ${what}, ${config.threshold} needed (t = ${config.threshold} of n = ${config.clients})`,
  );
}

function isIndex(config: SecAggConfig, x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= config.clients;
}

/** An X25519 key pair from 32 secret bytes (X25519 clamps any 32 bytes into a valid scalar). */
function x25519FromSecret(secret: Uint8Array): { privateKey: KeyObject; publicKey: Uint8Array } {
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, secret]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: new Uint8Array(spki.subarray(spki.length - KEY_BYTES)) };
}

function shareAad(config: SecAggConfig, from: number, to: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(['starling-secagg-share', config.runId, config.round, from, to]));
}

/** The one-use key for shares from → to, from the c-key agreement (direction in the label, so u→v and v→u never share a key and nonce). */
function shareKey(agreement: Uint8Array, salt: Uint8Array, from: number, to: number): Uint8Array {
  return hkdf(agreement, salt, `starling secagg share key ${from}->${to}`);
}

function seal(key: Uint8Array, aad: Uint8Array, plain: Uint8Array): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: SHARE_TAG_BYTES });
  cipher.setAAD(aad, { plaintextLength: plain.length });
  const body = cipher.update(plain);
  cipher.final();
  return new Uint8Array(Buffer.concat([body, cipher.getAuthTag()]));
}

function open(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < SHARE_TAG_BYTES) return null;
  const body = sealed.subarray(0, sealed.length - SHARE_TAG_BYTES);
  const decipher = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: SHARE_TAG_BYTES });
  decipher.setAAD(aad, { plaintextLength: body.length });
  decipher.setAuthTag(sealed.subarray(sealed.length - SHARE_TAG_BYTES));
  const plain = decipher.update(body);
  try {
    decipher.final();
  } catch {
    return null;
  }
  return new Uint8Array(plain);
}

function validShare(y: unknown): y is Uint32Array {
  return y instanceof Uint32Array && y.length === SHARE_LIMBS && y.every((v) => v < FIELD_PRIME);
}

function duplicates(xs: readonly number[]): number | undefined {
  const seen = new Set<number>();
  for (const x of xs) {
    if (seen.has(x)) return x;
    seen.add(x);
  }
  return undefined;
}

const ascending = (a: number, b: number) => a - b;

/** One client's side of a round. Methods must be called in phase order, each once. */
export class SecAggClient {
  readonly index: number;
  private readonly config: SecAggConfig;
  private readonly salt: Uint8Array;
  private readonly random: RandomSource;
  private readonly cKeys: { privateKey: KeyObject; publicKey: Uint8Array };
  private readonly sSecret: Uint8Array;
  private readonly sKeys: { privateKey: KeyObject; publicKey: Uint8Array };
  private readonly selfSeed: Uint8Array;
  private phase: SecAggPhase | 'done' = 'advertise';
  private neighbours: readonly number[] = [];
  private readonly cAgreements = new Map<number, Uint8Array>();
  private readonly pairSeeds = new Map<number, Uint8Array>();
  /** Shares held for each client (own included): of b and of s^SK. */
  private readonly held = new Map<number, { self: Uint32Array; key: Uint32Array }>();
  private senders = new Set<number>();
  private roster = new Set<number>();

  /** `random` defaults to the CSPRNG; a seeded source is for reproducible tests only. */
  constructor(config: SecAggConfig, index: number, options: { random?: RandomSource } = {}) {
    checkConfig(config);
    if (!isIndex(config, index)) throw new SecAggError('E_SECAGG_INVALID', `client index ${index} is not in 1..${config.clients}`);
    this.config = config;
    this.index = index;
    this.salt = roundSalt(config);
    this.random = options.random ?? cryptoRandom;
    this.cKeys = x25519FromSecret(this.random(KEY_BYTES));
    this.sSecret = this.random(KEY_BYTES);
    this.sKeys = x25519FromSecret(this.sSecret);
    this.selfSeed = this.random(KEY_BYTES);
  }

  private expect(phase: SecAggPhase): void {
    if (this.phase !== phase) throw new SecAggError('E_SECAGG_INVALID', `client ${this.index} is in phase ${this.phase}, not ${phase}: each phase runs once, in order`);
  }

  /** Phase 0: this round's two fresh public keys. */
  advertiseKeys(): AdvertiseKeys {
    this.expect('advertise');
    this.phase = 'share-keys';
    return { from: this.index, cPk: this.cKeys.publicKey, sPk: this.sKeys.publicKey };
  }

  /** Phase 1: from U1, the encrypted shares of b_u and s_u^SK for each neighbour. */
  shareKeys(roster: KeyRoster): ShareKeys {
    this.expect('share-keys');
    const { config } = this;
    const indices = roster.keys.map((k) => k.from);
    const bad = roster.keys.find((k) => !isIndex(config, k.from) || !(k.cPk instanceof Uint8Array) || !(k.sPk instanceof Uint8Array) || k.cPk.length !== KEY_BYTES || k.sPk.length !== KEY_BYTES);
    if (bad) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the roster's entry for client ${bad.from} is malformed`);
    const dup = duplicates(indices);
    if (dup !== undefined) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the roster lists client ${dup} twice`);
    const mine = roster.keys.find((k) => k.from === this.index);
    if (!mine || !equalBytes(mine.cPk, this.cKeys.publicKey) || !equalBytes(mine.sPk, this.sKeys.publicKey)) {
      throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the roster does not carry client ${this.index}'s own keys`);
    }
    if (roster.keys.length < config.threshold) throw aborted(config, roster.keys.length, 'advertised keys');
    const keyOf = new Map(roster.keys.map((k) => [k.from, k]));
    this.roster = new Set(indices);
    this.neighbours = neighbourhoods(indices, this.salt, config.graph).get(this.index) ?? [];
    const holders = [this.index, ...this.neighbours];
    if (holders.length < config.threshold) throw aborted(config, holders.length, `are in client ${this.index}'s neighbourhood`);
    for (const v of this.neighbours) {
      const keys = keyOf.get(v)!;
      const c = agree(this.cKeys.privateKey, keys.cPk);
      const s = agree(this.sKeys.privateKey, keys.sPk);
      if (!c || !s || equalBytes(keys.cPk, keys.sPk)) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: client ${v}'s keys in the roster fail X25519 agreement (or are equal)`);
      this.cAgreements.set(v, c);
      this.pairSeeds.set(v, s);
    }
    const selfShares = split(this.selfSeed, config.threshold, holders, this.random);
    const keyShares = split(this.sSecret, config.threshold, holders, this.random);
    const shares: EncryptedShare[] = [];
    holders.forEach((v, i) => {
      const self = selfShares[i]!.y;
      const key = keyShares[i]!.y;
      if (v === this.index) {
        this.held.set(v, { self, key });
        return;
      }
      const plain = new Uint8Array(SHARE_PLAINTEXT_BYTES);
      plain.set(shareBytes(self), 0);
      plain.set(shareBytes(key), SHARE_PLAINTEXT_BYTES / 2);
      const ciphertext = seal(shareKey(this.cAgreements.get(v)!, this.salt, this.index, v), shareAad(config, this.index, v), plain);
      shares.push({ from: this.index, to: v, ciphertext });
    });
    this.phase = 'masked-input';
    return { from: this.index, shares };
  }

  /**
   * Phase 2: decrypts the shares addressed to this client (those that fail become
   * complaints) and masks `encoded` with the self-mask and the pairwise masks of every
   * neighbour in U2.
   */
  maskedInput(delivery: ShareDelivery, encoded: Uint32Array): MaskedInput {
    this.expect('masked-input');
    const { config } = this;
    if (!(encoded instanceof Uint32Array) || encoded.length !== config.dimension) {
      throw new SecAggError('E_SECAGG_INVALID', `client ${this.index}'s input must be a Uint32Array of ${config.dimension} words`);
    }
    if (delivery.to !== this.index) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: client ${this.index} was handed the shares for client ${delivery.to}`);
    const dup = duplicates(delivery.senders);
    if (dup !== undefined) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: U2 lists client ${dup} twice`);
    const neighbours = new Set(this.neighbours);
    const stranger = delivery.senders.find((v) => !this.roster.has(v));
    if (stranger !== undefined) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: U2 lists client ${stranger}, which is not in the roster`);
    if (!delivery.senders.includes(this.index)) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: client ${this.index} is not in U2 although it sent its shares`);
    if (delivery.senders.length < config.threshold) throw aborted(config, delivery.senders.length, 'shared their keys');
    this.senders = new Set(delivery.senders);
    const complaints: Complaint[] = [];
    const got = new Set<number>();
    for (const share of delivery.shares) {
      const v = share.from;
      // a share from outside U2 ∩ N(u), or a second one, is the relay's mistake: ignored (a neighbour left without a usable share is complained about below)
      if (share.to !== this.index || !neighbours.has(v) || !this.senders.has(v) || got.has(v)) continue;
      got.add(v);
      const plain = share.ciphertext instanceof Uint8Array ? open(shareKey(this.cAgreements.get(v)!, this.salt, v, this.index), shareAad(config, v, this.index), share.ciphertext) : null;
      if (!plain || plain.length !== SHARE_PLAINTEXT_BYTES) {
        complaints.push({ about: v, reason: `client ${v}'s share for client ${this.index} failed to decrypt (tampered, or sealed under another key)` });
        continue;
      }
      const self = shareFromBytes(plain.subarray(0, SHARE_PLAINTEXT_BYTES / 2));
      const key = shareFromBytes(plain.subarray(SHARE_PLAINTEXT_BYTES / 2));
      if (!self || !key) {
        complaints.push({ about: v, reason: `client ${v}'s share for client ${this.index} holds values outside the field` });
        continue;
      }
      this.held.set(v, { self, key });
    }
    for (const v of this.neighbours) {
      if (this.senders.has(v) && !got.has(v) && !complaints.some((c) => c.about === v)) complaints.push({ about: v, reason: `no share from client ${v} reached client ${this.index}` });
    }
    const live = new Map([...this.pairSeeds].filter(([v]) => this.senders.has(v)));
    const masked = maskInput(this.index, encoded, this.selfSeed, live, this.salt);
    this.phase = 'unmask';
    return { from: this.index, masked, complaints };
  }

  /**
   * Phase 3: for each survivor v (this client included) its share of b_v, for each dropped
   * neighbour its share of s_v^SK. Refuses a request that names a client as both, or that
   * calls this client dropped: either would let the server unmask an individual input.
   */
  unmask(request: UnmaskRequest): UnmaskResponse {
    this.expect('unmask');
    const { config } = this;
    const survivors = new Set(request.survivors);
    const both = request.dropped.find((v) => survivors.has(v));
    if (both !== undefined) {
      throw new SecAggError('E_SECAGG_REFUSED', `client ${this.index} refuses to unmask round ${config.round}: client ${both} is listed as both a survivor and dropped, and revealing both its self-mask seed and its mask key would expose its input`);
    }
    if (request.dropped.includes(this.index) || !survivors.has(this.index)) {
      throw new SecAggError('E_SECAGG_REFUSED', `client ${this.index} refuses to unmask round ${config.round}: it sent its masked input but is not listed as a survivor, and revealing its mask key would expose its input`);
    }
    const dup = duplicates(request.survivors) ?? duplicates(request.dropped);
    if (dup !== undefined) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the unmask request lists client ${dup} twice`);
    const outsider = [...request.survivors, ...request.dropped].find((v) => !this.senders.has(v));
    if (outsider !== undefined) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the unmask request names client ${outsider}, which is not in U2`);
    if (survivors.size < config.threshold) throw aborted(config, survivors.size, 'sent masked inputs');
    this.phase = 'done';
    const selfMaskShares: RevealedShare[] = [];
    const keyShares: RevealedShare[] = [];
    for (const v of [...request.survivors].sort(ascending)) {
      const held = this.held.get(v);
      if (held) selfMaskShares.push({ of: v, share: held.self });
    }
    for (const v of [...request.dropped].sort(ascending)) {
      const held = this.held.get(v);
      if (held) keyShares.push({ of: v, share: held.key });
    }
    return { from: this.index, selfMaskShares, keyShares };
  }
}

/** The coordinator's side of a round: validates, relays and finally unmasks only the sum. */
export class SecAggServer {
  private readonly config: SecAggConfig;
  private readonly salt: Uint8Array;
  private readonly probe = generateEphemeral();
  private phase: SecAggPhase | 'done' = 'advertise';
  private readonly keys = new Map<number, AdvertiseKeys>();
  private neighbours = new Map<number, number[]>();
  private readonly shares = new Map<number, readonly EncryptedShare[]>();
  private readonly masked = new Map<number, { masked: Uint32Array; complaints: readonly Complaint[] }>();
  private survivors: number[] = [];
  private dropped: number[] = [];
  private sum: Uint32Array | null = null;
  private readonly responses = new Map<number, UnmaskResponse>();
  private readonly dropoutList: Dropout[] = [];

  constructor(config: SecAggConfig) {
    checkConfig(config);
    this.config = config;
    this.salt = roundSalt(config);
  }

  /** Who has left the round so far, in which phase and why. */
  get dropouts(): readonly Dropout[] {
    return this.dropoutList;
  }

  private drop(index: number, phase: SecAggPhase, reason: string): void {
    if (!this.dropoutList.some((d) => d.index === index)) this.dropoutList.push({ index, phase, reason });
  }

  private refuse(index: unknown, phase: SecAggPhase, reason: string): Verdict {
    if (isIndex(this.config, index)) this.drop(index, phase, reason);
    return reject(reason);
  }

  private expect(phase: SecAggPhase): void {
    if (this.phase !== phase) throw new SecAggError('E_SECAGG_INVALID', `the server is in phase ${this.phase}, not ${phase}: each phase closes once, in order`);
  }

  private inPhase(phase: SecAggPhase, from: unknown): Verdict | null {
    if (this.phase !== phase) return reject(`a ${phase} message from client ${String(from)} arrived in phase ${this.phase}`);
    return null;
  }

  receiveAdvertisement(msg: AdvertiseKeys): Verdict {
    const early = this.inPhase('advertise', msg.from);
    if (early) return early;
    const { from, cPk, sPk } = msg;
    if (!isIndex(this.config, from)) return reject(`client index ${String(from)} is not in 1..${this.config.clients}`);
    if (this.keys.has(from)) return reject(`client ${from} advertised keys twice (the first is kept)`);
    if (!(cPk instanceof Uint8Array) || !(sPk instanceof Uint8Array) || cPk.length !== KEY_BYTES || sPk.length !== KEY_BYTES) {
      return this.refuse(from, 'advertise', `client ${from}'s public keys are not two ${KEY_BYTES}-byte X25519 keys`);
    }
    if (equalBytes(cPk, sPk)) return this.refuse(from, 'advertise', `client ${from} advertised the same key twice (c and s keys must differ)`);
    for (const other of this.keys.values()) {
      if ([other.cPk, other.sPk].some((k) => equalBytes(k, cPk) || equalBytes(k, sPk))) return this.refuse(from, 'advertise', `client ${from} advertised a key client ${other.from} already uses`);
    }
    if (!agree(this.probe.privateKey, cPk) || !agree(this.probe.privateKey, sPk)) return this.refuse(from, 'advertise', `client ${from}'s public keys fail X25519 agreement (a low-order or malformed point)`);
    this.keys.set(from, { from, cPk: cPk.slice(), sPk: sPk.slice() });
    return ACCEPTED;
  }

  /** Ends phase 0: U1, to send to every client in it. Aborts with fewer than t. */
  closeAdvertising(): KeyRoster {
    this.expect('advertise');
    for (let i = 1; i <= this.config.clients; i++) if (!this.keys.has(i)) this.drop(i, 'advertise', `client ${i} did not advertise keys`);
    if (this.keys.size < this.config.threshold) throw aborted(this.config, this.keys.size, 'advertised keys');
    const roster = [...this.keys.values()].sort((a, b) => a.from - b.from);
    this.neighbours = neighbourhoods(roster.map((k) => k.from), this.salt, this.config.graph);
    this.phase = 'share-keys';
    return { keys: roster };
  }

  receiveShareKeys(msg: ShareKeys): Verdict {
    const early = this.inPhase('share-keys', msg.from);
    if (early) return early;
    const { from } = msg;
    if (!isIndex(this.config, from) || !this.keys.has(from)) return reject(`client ${String(from)} is not in U1`);
    if (this.shares.has(from)) return this.refuse(from, 'share-keys', `client ${from} sent its shares twice`);
    const expected = this.neighbours.get(from) ?? [];
    if (!Array.isArray(msg.shares) || msg.shares.length !== expected.length) {
      return this.refuse(from, 'share-keys', `client ${from} sent ${Array.isArray(msg.shares) ? msg.shares.length : 'no'} shares, expected one for each of its ${expected.length} neighbours`);
    }
    const to = msg.shares.map((s) => s.to);
    const missing = expected.filter((v) => !to.includes(v));
    if (missing.length > 0 || duplicates(to) !== undefined) return this.refuse(from, 'share-keys', `client ${from}'s shares are not addressed one to each neighbour (missing ${missing.join(', ') || 'none'})`);
    const bad = msg.shares.find((s) => s.from !== from || !(s.ciphertext instanceof Uint8Array) || s.ciphertext.length !== SHARE_CIPHERTEXT_BYTES);
    if (bad) return this.refuse(from, 'share-keys', `client ${from}'s share for client ${bad.to} is malformed (a ${SHARE_CIPHERTEXT_BYTES}-byte ciphertext from ${from} is expected)`);
    this.shares.set(from, msg.shares.map((s) => ({ from, to: s.to, ciphertext: s.ciphertext.slice() })));
    return ACCEPTED;
  }

  /** Ends phase 1: one delivery per client of U2. Aborts with fewer than t. */
  closeShareKeys(): ShareDelivery[] {
    this.expect('share-keys');
    for (const v of this.keys.keys()) if (!this.shares.has(v)) this.drop(v, 'share-keys', `client ${v} did not send its shares`);
    if (this.shares.size < this.config.threshold) throw aborted(this.config, this.shares.size, 'shared their keys');
    const senders = [...this.shares.keys()].sort(ascending);
    const deliveries = senders.map((to) => ({ to, senders, shares: senders.flatMap((from) => this.shares.get(from)!.filter((s) => s.to === to)) }));
    this.phase = 'masked-input';
    return deliveries;
  }

  receiveMaskedInput(msg: MaskedInput): Verdict {
    const early = this.inPhase('masked-input', msg.from);
    if (early) return early;
    const { from } = msg;
    if (!isIndex(this.config, from) || !this.shares.has(from)) return reject(`client ${String(from)} is not in U2`);
    if (this.masked.has(from)) return this.refuse(from, 'masked-input', `client ${from} sent its masked input twice`);
    if (!(msg.masked instanceof Uint32Array) || msg.masked.length !== this.config.dimension) {
      return this.refuse(from, 'masked-input', `client ${from}'s masked input is not a Uint32Array of ${this.config.dimension} words`);
    }
    const neighbours = new Set(this.neighbours.get(from) ?? []);
    const complaints = Array.isArray(msg.complaints) ? msg.complaints : null;
    if (!complaints || complaints.some((c) => !neighbours.has(c.about) || !this.shares.has(c.about) || typeof c.reason !== 'string') || duplicates(complaints.map((c) => c.about)) !== undefined) {
      return this.refuse(from, 'masked-input', `client ${from}'s complaints are malformed (each must name a distinct neighbour in U2)`);
    }
    this.masked.set(from, { masked: msg.masked.slice(), complaints: complaints.map((c) => ({ about: c.about, reason: c.reason.slice(0, 200) })) });
    return ACCEPTED;
  }

  /**
   * Ends phase 2: clients whose shares failed to decrypt at a neighbour are dropped (their
   * pairwise masks will be removed, their self-mask seed is never asked for), the rest form
   * U3; their masked inputs are summed and the individual vectors discarded.
   */
  closeMaskedInput(): UnmaskRequest {
    this.expect('masked-input');
    for (const [from, { complaints }] of this.masked) {
      for (const c of complaints) this.drop(c.about, 'masked-input', `client ${from} could not use its share: ${c.reason}`);
    }
    const complained = new Set([...this.masked.values()].flatMap((m) => m.complaints.map((c) => c.about)));
    for (const v of this.shares.keys()) if (!this.masked.has(v)) this.drop(v, 'masked-input', `client ${v} did not send its masked input`);
    this.survivors = [...this.masked.keys()].filter((v) => !complained.has(v)).sort(ascending);
    this.dropped = [...this.shares.keys()].filter((v) => !this.survivors.includes(v)).sort(ascending);
    if (this.survivors.length < this.config.threshold) throw aborted(this.config, this.survivors.length, 'sent masked inputs');
    const sum = new Uint32Array(this.config.dimension);
    for (const u of this.survivors) {
      const y = this.masked.get(u)!.masked;
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + y[i]!) >>> 0;
    }
    this.masked.clear();
    this.sum = sum;
    this.phase = 'unmask';
    return { survivors: this.survivors, dropped: this.dropped };
  }

  receiveUnmask(msg: UnmaskResponse): Verdict {
    const early = this.inPhase('unmask', msg.from);
    if (early) return early;
    const { from } = msg;
    if (!isIndex(this.config, from) || !this.survivors.includes(from)) return reject(`client ${String(from)} is not in U3`);
    if (this.responses.has(from)) return this.refuse(from, 'unmask', `client ${from} sent its unmasking shares twice`);
    const mine = new Set([from, ...(this.neighbours.get(from) ?? [])]);
    const survivors = new Set(this.survivors);
    const dropped = new Set(this.dropped);
    const check = (list: unknown, allowed: (v: number) => boolean, what: string): string | null => {
      if (!Array.isArray(list)) return `client ${from}'s ${what} shares are missing`;
      const of = (list as RevealedShare[]).map((s) => s.of);
      const dup = duplicates(of);
      if (dup !== undefined) return `client ${from} revealed two ${what} shares of client ${dup}`;
      const wrong = (list as RevealedShare[]).find((s) => !allowed(s.of) || !validShare(s.share));
      return wrong ? `client ${from}'s ${what} share of client ${String(wrong.of)} is not one it should reveal, or is malformed` : null;
    };
    const problem =
      check(msg.selfMaskShares, (v) => survivors.has(v) && mine.has(v), 'self-mask') ?? check(msg.keyShares, (v) => dropped.has(v) && mine.has(v) && v !== from, 'mask-key');
    if (problem) {
      this.drop(from, 'unmask', `${problem}; its input stays in the sum`);
      return reject(problem);
    }
    this.responses.set(from, msg);
    return ACCEPTED;
  }

  /**
   * Ends the round: reconstructs b_u for every survivor and s_v^SK for every dropped client
   * with a surviving neighbour, removes their masks from the sum and returns Σ_{u ∈ U3} x_u.
   */
  finish(): SecAggResult {
    this.expect('unmask');
    const { config } = this;
    const sum = this.sum!;
    for (const u of this.survivors) if (!this.responses.has(u)) this.drop(u, 'unmask', `client ${u} did not send its unmasking shares; its input stays in the sum`);
    if (this.responses.size < config.threshold) throw aborted(config, this.responses.size, 'sent unmasking shares');
    const sharesOf = (v: number, kind: 'selfMaskShares' | 'keyShares'): Share[] =>
      [...this.responses.values()].flatMap((r) => r[kind].filter((s) => s.of === v).map((s) => ({ x: r.from, y: s.share }))).sort((a, b) => a.x - b.x);
    const rebuild = (v: number, kind: 'selfMaskShares' | 'keyShares', what: string): Uint8Array => {
      const shares = sharesOf(v, kind);
      if (shares.length < config.threshold) {
        throw new SecAggError('E_SECAGG_ABORTED', `secure aggregation aborted in round ${config.round}: only ${shares.length} shares of client ${v}'s ${what} arrived, ${config.threshold} needed (t = ${config.threshold} of n = ${config.clients})`);
      }
      try {
        return reconstruct(shares, config.threshold);
      } catch (e) {
        throw new SecAggError('E_SECAGG_ABORTED', `secure aggregation aborted in round ${config.round}: client ${v}'s ${what} cannot be reconstructed: ${(e as Error).message}`, { cause: e });
      }
    };
    const survivors = new Set(this.survivors);
    for (const u of this.survivors) removeSelfMask(sum, rebuild(u, 'selfMaskShares', 'self-mask seed'), this.salt);
    for (const v of this.dropped) {
      const live = (this.neighbours.get(v) ?? []).filter((u) => survivors.has(u));
      if (live.length === 0) continue;
      const secret = rebuild(v, 'keyShares', 'mask key');
      const { privateKey, publicKey } = x25519FromSecret(secret);
      if (!equalBytes(publicKey, this.keys.get(v)!.sPk)) {
        throw new SecAggError('E_SECAGG_ABORTED', `secure aggregation aborted in round ${config.round}: the mask key reconstructed for client ${v} does not match the key it advertised (a corrupt share)`);
      }
      for (const u of live) {
        const seed = agree(privateKey, this.keys.get(u)!.sPk);
        if (!seed) throw new SecAggError('E_SECAGG_ABORTED', `secure aggregation aborted in round ${config.round}: clients ${u} and ${v} fail X25519 agreement`);
        removePairwiseMask(sum, u, v, seed, this.salt);
      }
    }
    this.sum = null;
    this.phase = 'done';
    return { sum, included: [...this.survivors], dropouts: [...this.dropoutList] };
  }
}
