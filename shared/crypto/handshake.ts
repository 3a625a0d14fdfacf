import { createHash, createHmac } from 'node:crypto';
import { InvalidArgumentError, protocolError } from '../errors.ts';
import { PROTOCOL_VERSION, type ClientAuth, type ClientHello, type ServerHello } from './handshake-types.ts';
import { toBase64 } from './identity-file.ts';
import {
  agree,
  equalBytes,
  generateEphemeral,
  hkdf,
  randomSecret,
  signDetached,
  verifyDetached,
  NONCE_BYTES,
  type EphemeralKeyPair,
  type Identity,
} from './primitives.ts';
import { SessionSealer } from './session-sealer.ts';

/**
 * The handshake (docs/protocol.md): each side sends an ephemeral X25519 key and a
 * fresh nonce; each signs the SHA-256 of the whole transcript (protocol version,
 * both identities, both ephemerals, both nonces) with its Ed25519 identity; both
 * derive one ChaCha20-Poly1305 key per direction with HKDF-SHA256 from the X25519
 * secret, salted with the transcript hash.
 */
const LABEL = new TextEncoder().encode('starling/handshake/v1');

function transcriptHash(
  version: number,
  c: { identity: Uint8Array; ephemeral: Uint8Array; nonce: Uint8Array },
  s: { identity: Uint8Array; ephemeral: Uint8Array; nonce: Uint8Array },
): Uint8Array {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(version >>> 0);
  return new Uint8Array(
    createHash('sha256')
      .update(LABEL)
      .update(v)
      .update(c.identity)
      .update(c.ephemeral)
      .update(c.nonce)
      .update(s.identity)
      .update(s.ephemeral)
      .update(s.nonce)
      .digest(),
  );
}

const role = (name: 'client' | 'server', th: Uint8Array) => Buffer.concat([Buffer.from(name), th]);

/**
 * The join-token proof is keyed by the X25519 secret as well as the token, so an
 * eavesdropper who records a handshake cannot test token guesses offline.
 */
function tokenProof(token: string, keys: SessionKeys): Uint8Array {
  return new Uint8Array(createHmac('sha256', keys.token).update('token').update(token).digest());
}

interface SessionKeys {
  readonly c2s: Uint8Array;
  readonly s2c: Uint8Array;
  readonly token: Uint8Array;
}

function sessionKeys(ephemeral: EphemeralKeyPair, peerEphemeral: Uint8Array, th: Uint8Array): SessionKeys {
  const shared = agree(ephemeral.privateKey, peerEphemeral);
  if (!shared) throw protocolError.handshake("the peer's ephemeral key is invalid");
  return {
    c2s: hkdf(shared, th, 'starling/v1 client->server'),
    s2c: hkdf(shared, th, 'starling/v1 server->client'),
    token: hkdf(shared, th, 'starling/v1 token'),
  };
}

/** Who may join: public keys on an allowlist (base64 → name), and/or holders of a join token. */
export interface Admission {
  readonly allowlist?: ReadonlyMap<string, string>;
  readonly joinToken?: string;
}

export interface Authenticated {
  readonly sealer: SessionSealer;
  /** The peer's identity, base64. */
  readonly peerKey: string;
  /** Its allowlist name, or "token" when admitted by join token. */
  readonly peerName: string;
}

/** The coordinator's side of one connection's handshake. */
export class ServerHandshake {
  private readonly identity: Identity;
  private readonly admission: Admission;
  private hello: ClientHello | undefined;
  private reply: ServerHello | undefined;
  private ephemeral: EphemeralKeyPair | undefined;
  private th: Uint8Array | undefined;

  constructor(identity: Identity, admission: Admission) {
    if (!admission.allowlist && !admission.joinToken) throw new InvalidArgumentError('admission needs an allowlist or a join token');
    this.identity = identity;
    this.admission = admission;
  }

  /** Answers the client's hello; unknown keys (when no token could admit them) and wrong versions are refused here. */
  onClientHello(msg: ClientHello): ServerHello {
    if (this.hello) throw protocolError.unexpected('a second clientHello');
    if (msg.protocolVersion !== PROTOCOL_VERSION) throw protocolError.version(msg.protocolVersion, PROTOCOL_VERSION);
    const key = toBase64(msg.identity);
    if (!this.admission.joinToken && !this.admission.allowlist?.has(key)) throw protocolError.handshake(`client key ${key} is not on the allowlist`);
    this.hello = msg;
    this.ephemeral = generateEphemeral();
    const nonce = randomSecret(NONCE_BYTES);
    const server = { identity: this.identity.publicKey, ephemeral: this.ephemeral.publicKey, nonce };
    this.th = transcriptHash(PROTOCOL_VERSION, msg, server);
    this.reply = { type: 'serverHello', protocolVersion: PROTOCOL_VERSION, ...server, signature: signDetached(role('server', this.th), this.identity.seed) };
    return this.reply;
  }

  /** Verifies the client's signature over the transcript and its admission; yields the session. */
  onClientAuth(msg: ClientAuth): Authenticated {
    const { hello, th, ephemeral } = this;
    if (!hello || !th || !ephemeral) throw protocolError.unexpected('clientAuth before clientHello');
    if (!verifyDetached(role('client', th), msg.signature, hello.identity))
      throw protocolError.handshake("the client's signature over the transcript does not verify");
    const keys = sessionKeys(ephemeral, hello.ephemeral, th);
    const key = toBase64(hello.identity);
    const listed = this.admission.allowlist?.get(key);
    let peerName: string;
    if (listed !== undefined) peerName = listed;
    else if (this.admission.joinToken && msg.tokenProof && equalBytes(msg.tokenProof, tokenProof(this.admission.joinToken, keys))) peerName = 'token';
    else
      throw protocolError.handshake(
        this.admission.joinToken
          ? `client key ${key} is not on the allowlist and its join-token proof is ${msg.tokenProof ? 'wrong' : 'missing'}`
          : `client key ${key} is not on the allowlist`,
      );
    return { sealer: new SessionSealer(keys.s2c, keys.c2s), peerKey: key, peerName };
  }
}

/** A client's side of the handshake; the coordinator's key is pinned. */
export class ClientHandshake {
  private readonly identity: Identity;
  private readonly coordinatorKey: Uint8Array;
  private readonly joinToken: string | undefined;
  private readonly ephemeral = generateEphemeral();
  private hello: ClientHello | undefined;

  constructor(identity: Identity, coordinatorKey: Uint8Array, joinToken?: string) {
    this.identity = identity;
    this.coordinatorKey = coordinatorKey;
    this.joinToken = joinToken;
  }

  start(): ClientHello {
    this.hello = {
      type: 'clientHello',
      protocolVersion: PROTOCOL_VERSION,
      identity: this.identity.publicKey,
      ephemeral: this.ephemeral.publicKey,
      nonce: randomSecret(NONCE_BYTES),
    };
    return this.hello;
  }

  /** Checks the coordinator is the pinned one and signed this transcript; yields the reply and the session. */
  onServerHello(msg: ServerHello): { auth: ClientAuth } & Authenticated {
    const hello = this.hello;
    if (!hello) throw protocolError.unexpected('serverHello before clientHello');
    if (msg.protocolVersion !== PROTOCOL_VERSION) throw protocolError.version(msg.protocolVersion, PROTOCOL_VERSION);
    if (!equalBytes(msg.identity, this.coordinatorKey)) {
      throw protocolError.handshake(`the coordinator presented key ${toBase64(msg.identity)}, not the pinned ${toBase64(this.coordinatorKey)}`);
    }
    const th = transcriptHash(PROTOCOL_VERSION, hello, msg);
    if (!verifyDetached(role('server', th), msg.signature, msg.identity))
      throw protocolError.handshake("the coordinator's signature over the transcript does not verify");
    const keys = sessionKeys(this.ephemeral, msg.ephemeral, th);
    const auth: ClientAuth = {
      type: 'clientAuth',
      signature: signDetached(role('client', th), this.identity.seed),
      ...(this.joinToken ? { tokenProof: tokenProof(this.joinToken, keys) } : {}),
    };
    return { auth, sealer: new SessionSealer(keys.c2s, keys.s2c), peerKey: toBase64(msg.identity), peerName: 'coordinator' };
  }
}
