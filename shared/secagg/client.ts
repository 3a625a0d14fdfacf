import { SecAggError } from '../errors.ts';
import { agree, equalBytes, KEY_BYTES, x25519FromSecret, type EphemeralKeyPair } from '../crypto/primitives.ts';
import { aborted, ascending, checkConfig, duplicates, isIndex, type SecAggConfig } from './common.ts';
import { applyMasks, type MaskTerm } from './mask-kernel.ts';
import type { AgreementRequest } from './mask-job.ts';
import { maskWorkers, type MaskWorkers } from './mask-workers.ts';
import { maskTerms, neighboursOf, roundSalt } from './masking.ts';
import type {
  AdvertiseKeys,
  Complaint,
  EncryptedShare,
  KeyRoster,
  MaskedInput,
  RevealedShare,
  SecAggPhase,
  ShareDelivery,
  ShareKeys,
  UnmaskRequest,
  UnmaskResponse,
} from './messages.ts';
import { cryptoRandom, shareFromBytes, split, type RandomSource } from './shamir.ts';
import { openShares, SHARE_PLAINTEXT_BYTES, sealShares } from './share-cipher.ts';

/** One client's side of a round. Methods must be called in phase order, each once. */
export class SecAggClient {
  readonly index: number;
  private readonly config: SecAggConfig;
  private readonly salt: Uint8Array;
  private readonly random: RandomSource;
  private readonly cKeys: EphemeralKeyPair;
  private readonly sSecret: Uint8Array;
  private readonly sKeys: EphemeralKeyPair;
  private readonly selfSeed: Uint8Array;
  /** 'sharing': phase 1's agreements are being computed off the thread. */
  private phase: SecAggPhase | 'sharing' | 'done' = 'advertise';
  private neighbours: readonly number[] = [];
  private neighbourKeys = new Map<number, AdvertiseKeys>();
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
    if (this.phase !== phase)
      throw new SecAggError('E_SECAGG_INVALID', `client ${this.index} is in phase ${this.phase}, not ${phase}: each phase runs once, in order`);
  }

  /** Phase 0: this round's two fresh public keys. */
  advertiseKeys(): AdvertiseKeys {
    this.expect('advertise');
    this.phase = 'shareKeys';
    return { from: this.index, cPk: this.cKeys.publicKey, sPk: this.sKeys.publicKey };
  }

  /** Phase 1: from U1, the encrypted shares of b_u and s_u^SK for each neighbour. */
  shareKeys(roster: KeyRoster): ShareKeys {
    const requests = this.openRoster(roster);
    return this.sealForNeighbours(requests.map((r) => agree(r.ours, r.theirs)));
  }

  /** shareKeys(), with the X25519 agreements computed by `workers` (the process's shared pool by default): the same shares, off this thread. */
  async shareKeysOffThread(roster: KeyRoster, workers: MaskWorkers = maskWorkers()): Promise<ShareKeys> {
    const requests = this.openRoster(roster);
    return this.sealForNeighbours(await workers.agreeAll(requests));
  }

  /**
   * Phase 1's checks of the roster; learns U1 and this client's neighbours, and returns the
   * agreements to compute: for each neighbour in order, its c-key with ours, then its s-key.
   */
  private openRoster(roster: KeyRoster): AgreementRequest[] {
    this.expect('shareKeys');
    const { config } = this;
    const indices = roster.keys.map((k) => k.from);
    const bad = roster.keys.find(
      (k) =>
        !isIndex(config, k.from) ||
        !(k.cPk instanceof Uint8Array) ||
        !(k.sPk instanceof Uint8Array) ||
        k.cPk.length !== KEY_BYTES ||
        k.sPk.length !== KEY_BYTES,
    );
    if (bad) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the roster's entry for client ${bad.from} is malformed`);
    const dup = duplicates(indices);
    if (dup !== undefined) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the roster lists client ${dup} twice`);
    const mine = roster.keys.find((k) => k.from === this.index);
    if (!mine || !equalBytes(mine.cPk, this.cKeys.publicKey) || !equalBytes(mine.sPk, this.sKeys.publicKey)) {
      throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the roster does not carry client ${this.index}'s own keys`);
    }
    if (roster.keys.length < config.threshold) throw aborted(config, roster.keys.length, 'advertised keys');
    this.roster = new Set(indices);
    this.neighbours = neighboursOf(this.index, indices, this.salt, config.graph);
    if (this.neighbours.length + 1 < config.threshold) throw aborted(config, this.neighbours.length + 1, `are in client ${this.index}'s neighbourhood`);
    this.neighbourKeys = new Map(roster.keys.filter((k) => this.neighbours.includes(k.from)).map((k) => [k.from, k]));
    // until the agreements are back: neither phase 1 again nor phase 2 yet
    this.phase = 'sharing';
    return this.neighbours.flatMap((v) => {
      const keys = this.neighbourKeys.get(v)!;
      return [
        { ours: this.cKeys.privateKey, theirs: keys.cPk },
        { ours: this.sKeys.privateKey, theirs: keys.sPk },
      ];
    });
  }

  /** The rest of phase 1, from the agreements openRoster() asked for: checks them, then splits and seals the shares. */
  private sealForNeighbours(agreements: readonly (Uint8Array | null)[]): ShareKeys {
    const { config } = this;
    this.neighbours.forEach((v, i) => {
      const keys = this.neighbourKeys.get(v)!;
      const c = agreements[2 * i];
      const s = agreements[2 * i + 1];
      if (!c || !s || equalBytes(keys.cPk, keys.sPk))
        throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: client ${v}'s keys in the roster fail X25519 agreement (or are equal)`);
      this.cAgreements.set(v, c);
      this.pairSeeds.set(v, s);
    });
    const holders = [this.index, ...this.neighbours];
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
      const ciphertext = sealShares(config, this.salt, this.cAgreements.get(v)!, this.index, v, self, key);
      shares.push({ from: this.index, to: v, ciphertext });
    });
    this.phase = 'maskedInput';
    return { from: this.index, shares };
  }

  /**
   * Phase 2: decrypts the shares addressed to this client (those that fail become
   * complaints) and masks `encoded` with the self-mask and the pairwise masks of every
   * neighbour in U2.
   */
  maskedInput(delivery: ShareDelivery, encoded: Uint32Array): MaskedInput {
    const { terms, complaints } = this.openDelivery(delivery, encoded);
    const masked = encoded.slice();
    applyMasks(masked, terms);
    return { from: this.index, masked, complaints };
  }

  /**
   * maskedInput(), with the masks expanded by `workers` (the process's shared pool by default)
   * instead of on this thread: the same bytes, and the thread stays free for the connection
   * (and, in a simulation, for the other clients).
   */
  async maskedInputOffThread(delivery: ShareDelivery, encoded: Uint32Array, workers: MaskWorkers = maskWorkers()): Promise<MaskedInput> {
    const { terms, complaints } = this.openDelivery(delivery, encoded);
    const masked = await workers.apply(encoded.slice(), terms);
    return { from: this.index, masked, complaints };
  }

  /** Phase 2's checks and share decryption; moves to the unmask phase and returns the masks to apply and the complaints to send. */
  private openDelivery(delivery: ShareDelivery, encoded: Uint32Array): { terms: MaskTerm[]; complaints: Complaint[] } {
    this.expect('maskedInput');
    const { config } = this;
    if (!(encoded instanceof Uint32Array) || encoded.length !== config.dimension) {
      throw new SecAggError('E_SECAGG_INVALID', `client ${this.index}'s input must be a Uint32Array of ${config.dimension} words`);
    }
    if (delivery.to !== this.index)
      throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: client ${this.index} was handed the shares for client ${delivery.to}`);
    const dup = duplicates(delivery.senders);
    if (dup !== undefined) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: U2 lists client ${dup} twice`);
    const neighbours = new Set(this.neighbours);
    const stranger = delivery.senders.find((v) => !this.roster.has(v));
    if (stranger !== undefined) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: U2 lists client ${stranger}, which is not in the roster`);
    if (!delivery.senders.includes(this.index))
      throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: client ${this.index} is not in U2 although it sent its shares`);
    if (delivery.senders.length < config.threshold) throw aborted(config, delivery.senders.length, 'shared their keys');
    // SecAgg+: t senders in the round is not enough, t must be in this client's neighbourhood — else a coordinator could list
    // none of its neighbours, so that it masks with its self-mask alone, and then ask them for that mask's shares (Bell et al.)
    const near = delivery.senders.filter((v) => v === this.index || neighbours.has(v)).length;
    if (near < config.threshold) throw aborted(config, near, `shared their keys in client ${this.index}'s neighbourhood`);
    this.senders = new Set(delivery.senders);
    const complaints: Complaint[] = [];
    const got = new Set<number>();
    for (const share of delivery.shares) {
      const v = share.from;
      // a share from outside U2 ∩ N(u), or a second one, is the relay's mistake: ignored (a neighbour left without a usable share is complained about below)
      if (share.to !== this.index || !neighbours.has(v) || !this.senders.has(v) || got.has(v)) continue;
      got.add(v);
      const plain = openShares(config, this.salt, this.cAgreements.get(v)!, v, this.index, share.ciphertext);
      if (!plain) {
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
      if (this.senders.has(v) && !got.has(v) && !complaints.some((c) => c.about === v))
        complaints.push({ about: v, reason: `no share from client ${v} reached client ${this.index}` });
    }
    const live = new Map([...this.pairSeeds].filter(([v]) => this.senders.has(v)));
    const terms = maskTerms(this.index, this.selfSeed, live, this.salt);
    this.phase = 'unmask';
    return { terms, complaints };
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
      throw new SecAggError(
        'E_SECAGG_REFUSED',
        `client ${this.index} refuses to unmask round ${config.round}: client ${both} is listed as both a survivor and dropped, ` +
          'and revealing both its self-mask seed and its mask key would expose its input',
      );
    }
    if (request.dropped.includes(this.index) || !survivors.has(this.index)) {
      throw new SecAggError(
        'E_SECAGG_REFUSED',
        `client ${this.index} refuses to unmask round ${config.round}: it sent its masked input but is not listed as a survivor, and revealing its mask key would expose its input`,
      );
    }
    const dup = duplicates(request.survivors) ?? duplicates(request.dropped);
    if (dup !== undefined) throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the unmask request lists client ${dup} twice`);
    const outsider = [...request.survivors, ...request.dropped].find((v) => !this.senders.has(v));
    if (outsider !== undefined)
      throw new SecAggError('E_SECAGG_ABORTED', `round ${config.round}: the unmask request names client ${outsider}, which is not in U2`);
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
