/**
 * What the handshake (handshake.ts) sends and reads, as plain types, and the protocol version
 * its transcript binds. They live here, beneath protocol/, so that crypto/ imports nothing
 * from the protocol built on it: protocol/handshake-messages.ts validates these shapes with
 * zod (its schemas are checked against them at compile time), and protocol/messages.ts
 * re-exports the version for the `hello` and `welcome` messages.
 */
export const PROTOCOL_VERSION = 1;

/** The fields both hellos carry: the sender's version, Ed25519 identity, ephemeral X25519 key and fresh nonce. */
interface Hello {
  readonly protocolVersion: number;
  readonly identity: Uint8Array;
  readonly ephemeral: Uint8Array;
  readonly nonce: Uint8Array;
}

export interface ClientHello extends Hello {
  readonly type: 'clientHello';
}

export interface ServerHello extends Hello {
  readonly type: 'serverHello';
  /** The server's signature over the transcript. */
  readonly signature: Uint8Array;
}

export interface ClientAuth {
  readonly type: 'clientAuth';
  /** The client's signature over the transcript. */
  readonly signature: Uint8Array;
  /** When joining by token: HMAC-SHA256 of the token, keyed by the session's X25519 secret (handshake.ts). */
  readonly tokenProof?: Uint8Array;
}
