import { SecAggError } from '../errors.ts';
import { agree, equalBytes, generateEphemeral, KEY_BYTES, x25519FromSecret } from '../crypto/primitives.ts';
import { aborted, ascending, checkConfig, duplicates, isIndex, type SecAggConfig } from './common.ts';
import { addVector, applyMasks, type MaskTerm } from './mask-kernel.ts';
import { maskWorkers, type MaskWorkers } from './mask-workers.ts';
import { neighbourhoods, pairwiseMaskRemoval, roundSalt, selfMaskRemoval } from './masking.ts';
import type {
  AdvertiseKeys,
  Complaint,
  Dropout,
  EncryptedShare,
  KeyRoster,
  MaskedInput,
  RevealedShare,
  SecAggPhase,
  SecAggResult,
  ShareDelivery,
  ShareKeys,
  UnmaskRequest,
  UnmaskResponse,
  Verdict,
} from './messages.ts';
import { FIELD_PRIME, reconstruct, type Share } from './shamir.ts';
import { SHARE_CIPHERTEXT_BYTES, SHARE_LIMBS } from './share-cipher.ts';

const ACCEPTED: Verdict = { accepted: true };
const reject = (reason: string): Verdict => ({ accepted: false, reason });

/** A revealed share the server can use: SHARE_LIMBS field elements. */
function validShare(y: unknown): y is Uint32Array {
  return y instanceof Uint32Array && y.length === SHARE_LIMBS && y.every((v) => v < FIELD_PRIME);
}

/** A public key as a map key: keys are compared as values, and a 32-byte hex string is one. */
const keyId = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');

/** The coordinator's side of a round: validates, relays and finally unmasks only the sum. */
export class SecAggServer {
  private readonly config: SecAggConfig;
  private readonly salt: Uint8Array;
  private readonly probe = generateEphemeral();
  private phase: SecAggPhase | 'done' = 'advertise';
  private readonly keys = new Map<number, AdvertiseKeys>();
  /** Every accepted public key (hex) → the client that advertised it, and when (its place among the accepted). */
  private readonly keyOwners = new Map<string, { from: number; order: number }>();
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
    // the first accepted client (in arrival order) holding either key, found by lookup rather than a scan of every earlier client
    const holders = [this.keyOwners.get(keyId(cPk)), this.keyOwners.get(keyId(sPk))].filter((h) => h !== undefined);
    if (holders.length > 0) {
      const first = holders.reduce((a, b) => (b.order < a.order ? b : a));
      return this.refuse(from, 'advertise', `client ${from} advertised a key client ${first.from} already uses`);
    }
    if (!agree(this.probe.privateKey, cPk) || !agree(this.probe.privateKey, sPk))
      return this.refuse(from, 'advertise', `client ${from}'s public keys fail X25519 agreement (a low-order or malformed point)`);
    const owner = { from, order: this.keys.size };
    this.keyOwners.set(keyId(cPk), owner);
    this.keyOwners.set(keyId(sPk), owner);
    this.keys.set(from, { from, cPk: cPk.slice(), sPk: sPk.slice() });
    return ACCEPTED;
  }

  /** Ends phase 0: U1, to send to every client in it. Aborts with fewer than t. */
  closeAdvertising(): KeyRoster {
    this.expect('advertise');
    for (let i = 1; i <= this.config.clients; i++) if (!this.keys.has(i)) this.drop(i, 'advertise', `client ${i} did not advertise keys`);
    if (this.keys.size < this.config.threshold) throw aborted(this.config, this.keys.size, 'advertised keys');
    const roster = [...this.keys.values()].sort((a, b) => a.from - b.from);
    this.neighbours = neighbourhoods(
      roster.map((k) => k.from),
      this.salt,
      this.config.graph,
    );
    this.phase = 'shareKeys';
    return { keys: roster };
  }

  receiveShareKeys(msg: ShareKeys): Verdict {
    const early = this.inPhase('shareKeys', msg.from);
    if (early) return early;
    const { from } = msg;
    if (!isIndex(this.config, from) || !this.keys.has(from)) return reject(`client ${String(from)} is not in U1`);
    if (this.shares.has(from)) return this.refuse(from, 'shareKeys', `client ${from} sent its shares twice`);
    const expected = this.neighbours.get(from) ?? [];
    if (!Array.isArray(msg.shares) || msg.shares.length !== expected.length) {
      return this.refuse(
        from,
        'shareKeys',
        `client ${from} sent ${Array.isArray(msg.shares) ? msg.shares.length : 'no'} shares, expected one for each of its ${expected.length} neighbours`,
      );
    }
    const to = msg.shares.map((s) => s.to);
    const missing = expected.filter((v) => !to.includes(v));
    if (missing.length > 0 || duplicates(to) !== undefined)
      return this.refuse(from, 'shareKeys', `client ${from}'s shares are not addressed one to each neighbour (missing ${missing.join(', ') || 'none'})`);
    const bad = msg.shares.find((s) => s.from !== from || !(s.ciphertext instanceof Uint8Array) || s.ciphertext.length !== SHARE_CIPHERTEXT_BYTES);
    if (bad)
      return this.refuse(
        from,
        'shareKeys',
        `client ${from}'s share for client ${bad.to} is malformed (a ${SHARE_CIPHERTEXT_BYTES}-byte ciphertext from ${from} is expected)`,
      );
    this.shares.set(
      from,
      msg.shares.map((s) => ({ from, to: s.to, ciphertext: s.ciphertext.slice() })),
    );
    return ACCEPTED;
  }

  /** Ends phase 1: one delivery per client of U2. Aborts with fewer than t. */
  closeShareKeys(): ShareDelivery[] {
    this.expect('shareKeys');
    for (const v of this.keys.keys()) if (!this.shares.has(v)) this.drop(v, 'shareKeys', `client ${v} did not send its shares`);
    if (this.shares.size < this.config.threshold) throw aborted(this.config, this.shares.size, 'shared their keys');
    const senders = [...this.shares.keys()].sort(ascending);
    // each recipient's ciphertexts in the senders' order, filed in one pass (not n scans of every sender's list)
    const inbox = new Map<number, EncryptedShare[]>(senders.map((to) => [to, []]));
    for (const from of senders) for (const s of this.shares.get(from)!) inbox.get(s.to)?.push(s);
    const deliveries = senders.map((to) => ({ to, senders, shares: inbox.get(to)! }));
    this.phase = 'maskedInput';
    return deliveries;
  }

  receiveMaskedInput(msg: MaskedInput): Verdict {
    const early = this.inPhase('maskedInput', msg.from);
    if (early) return early;
    const { from } = msg;
    if (!isIndex(this.config, from) || !this.shares.has(from)) return reject(`client ${String(from)} is not in U2`);
    if (this.masked.has(from)) return this.refuse(from, 'maskedInput', `client ${from} sent its masked input twice`);
    if (!(msg.masked instanceof Uint32Array) || msg.masked.length !== this.config.dimension) {
      return this.refuse(from, 'maskedInput', `client ${from}'s masked input is not a Uint32Array of ${this.config.dimension} words`);
    }
    const neighbours = new Set(this.neighbours.get(from) ?? []);
    const complaints = Array.isArray(msg.complaints) ? msg.complaints : null;
    if (
      !complaints ||
      complaints.some((c) => !neighbours.has(c.about) || !this.shares.has(c.about) || typeof c.reason !== 'string') ||
      duplicates(complaints.map((c) => c.about)) !== undefined
    ) {
      return this.refuse(from, 'maskedInput', `client ${from}'s complaints are malformed (each must name a distinct neighbour in U2)`);
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
    this.expect('maskedInput');
    for (const [from, { complaints }] of this.masked) {
      for (const c of complaints) this.drop(c.about, 'maskedInput', `client ${from} could not use its share: ${c.reason}`);
    }
    const complained = new Set([...this.masked.values()].flatMap((m) => m.complaints.map((c) => c.about)));
    for (const v of this.shares.keys()) if (!this.masked.has(v)) this.drop(v, 'maskedInput', `client ${v} did not send its masked input`);
    this.survivors = [...this.masked.keys()].filter((v) => !complained.has(v)).sort(ascending);
    this.dropped = [...this.shares.keys()].filter((v) => !this.survivors.includes(v)).sort(ascending);
    if (this.survivors.length < this.config.threshold) throw aborted(this.config, this.survivors.length, 'sent masked inputs');
    const sum = new Uint32Array(this.config.dimension);
    for (const u of this.survivors) addVector(sum, this.masked.get(u)!.masked);
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
      check(msg.selfMaskShares, (v) => survivors.has(v) && mine.has(v), 'self-mask') ??
      check(msg.keyShares, (v) => dropped.has(v) && mine.has(v) && v !== from, 'mask-key');
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
    const { sum, terms } = this.unmasking();
    applyMasks(sum, terms);
    return this.result(sum);
  }

  /** finish(), with the masks expanded by `workers` (the process's shared pool by default): the same sum, off this thread. */
  async finishOffThread(workers: MaskWorkers = maskWorkers()): Promise<SecAggResult> {
    const { sum, terms } = this.unmasking();
    await workers.apply(sum, terms);
    return this.result(sum);
  }

  private result(sum: Uint32Array): SecAggResult {
    return { sum, included: [...this.survivors], dropouts: [...this.dropoutList] };
  }

  /** The unmasking's checks and reconstructions: the sum and the masks to take out of it. Closes the round (a second call throws). */
  private unmasking(): { sum: Uint32Array; terms: MaskTerm[] } {
    this.expect('unmask');
    const { config } = this;
    const sum = this.sum!;
    for (const u of this.survivors)
      if (!this.responses.has(u)) this.drop(u, 'unmask', `client ${u} did not send its unmasking shares; its input stays in the sum`);
    if (this.responses.size < config.threshold) throw aborted(config, this.responses.size, 'sent unmasking shares');
    // every revealed share, filed once by whose secret it is (x ascending, as reconstruct() takes the first t)
    const filed = { selfMaskShares: new Map<number, Share[]>(), keyShares: new Map<number, Share[]>() };
    for (const r of this.responses.values()) {
      for (const kind of ['selfMaskShares', 'keyShares'] as const) {
        for (const s of r[kind]) {
          const list = filed[kind].get(s.of) ?? [];
          list.push({ x: r.from, y: s.share });
          filed[kind].set(s.of, list);
        }
      }
    }
    const rebuild = (v: number, kind: 'selfMaskShares' | 'keyShares', what: string): Uint8Array => {
      const shares = (filed[kind].get(v) ?? []).sort((a, b) => a.x - b.x);
      if (shares.length < config.threshold) {
        throw new SecAggError(
          'E_SECAGG_ABORTED',
          `secure aggregation aborted in round ${config.round}: only ${shares.length} shares of client ${v}'s ${what} arrived, ` +
            `${config.threshold} needed (t = ${config.threshold} of n = ${config.clients})`,
        );
      }
      try {
        return reconstruct(shares, config.threshold);
      } catch (e) {
        throw new SecAggError(
          'E_SECAGG_ABORTED',
          `secure aggregation aborted in round ${config.round}: client ${v}'s ${what} cannot be reconstructed: ${(e as Error).message}`,
          { cause: e },
        );
      }
    };
    const terms: MaskTerm[] = [];
    const survivors = new Set(this.survivors);
    for (const u of this.survivors) terms.push(selfMaskRemoval(rebuild(u, 'selfMaskShares', 'self-mask seed'), this.salt));
    for (const v of this.dropped) {
      const live = (this.neighbours.get(v) ?? []).filter((u) => survivors.has(u));
      if (live.length === 0) continue;
      const secret = rebuild(v, 'keyShares', 'mask key');
      const { privateKey, publicKey } = x25519FromSecret(secret);
      if (!equalBytes(publicKey, this.keys.get(v)!.sPk)) {
        throw new SecAggError(
          'E_SECAGG_ABORTED',
          `secure aggregation aborted in round ${config.round}: the mask key reconstructed for client ${v} does not match the key it advertised (a corrupt share)`,
        );
      }
      for (const u of live) {
        const seed = agree(privateKey, this.keys.get(u)!.sPk);
        if (!seed)
          throw new SecAggError('E_SECAGG_ABORTED', `secure aggregation aborted in round ${config.round}: clients ${u} and ${v} fail X25519 agreement`);
        terms.push(pairwiseMaskRemoval(u, v, seed, this.salt));
      }
    }
    this.sum = null;
    this.phase = 'done';
    return { sum, terms };
  }
}
