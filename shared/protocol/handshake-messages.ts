import { z } from 'zod';
import type { ClientAuth, ClientHello, ServerHello } from '../crypto/handshake-types.ts';
import { KEY_BYTES, NONCE_BYTES, SIGNATURE_BYTES } from '../crypto/primitives.ts';
import { errorSchema } from './messages.ts';

/** The three plaintext messages of the handshake (docs/protocol.md); everything after them is sealed. */
const bytes = (n: number, what: string) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === n, `expected ${n} bytes of ${what}`);

export const clientHelloSchema = z.strictObject({
  type: z.literal('clientHello'),
  protocolVersion: z.number().int(),
  identity: bytes(KEY_BYTES, 'Ed25519 public key'),
  ephemeral: bytes(KEY_BYTES, 'X25519 public key'),
  nonce: bytes(NONCE_BYTES, 'nonce'),
});

export const serverHelloSchema = z.strictObject({
  type: z.literal('serverHello'),
  protocolVersion: z.number().int(),
  identity: bytes(KEY_BYTES, 'Ed25519 public key'),
  ephemeral: bytes(KEY_BYTES, 'X25519 public key'),
  nonce: bytes(NONCE_BYTES, 'nonce'),
  signature: bytes(SIGNATURE_BYTES, 'signature'),
});

export const clientAuthSchema = z.strictObject({
  type: z.literal('clientAuth'),
  signature: bytes(SIGNATURE_BYTES, 'signature'),
  /** HMAC-SHA256 of the transcript under the join token, when joining by token. */
  tokenProof: bytes(32, 'token proof').optional(),
});

export const toServerHandshakeSchema = z.discriminatedUnion('type', [clientHelloSchema, clientAuthSchema, errorSchema]);
export const toClientHandshakeSchema = z.discriminatedUnion('type', [serverHelloSchema, errorSchema]);

/** The shapes are crypto/handshake-types.ts's, which the handshake builds and reads; each schema must parse to exactly its shape. */
export type { ClientAuth, ClientHello, ServerHello };

/** Mutually assignable with the same keys (assignability alone lets an optional field go missing on one side). */
type Same<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? true : false) : false;
type MustHold<T extends true> = T;
/** A compile-time check only: `tsc` fails here when a schema and its crypto/ shape drift apart. */
export type SchemasMatchShapes = [
  MustHold<Same<z.infer<typeof clientHelloSchema>, ClientHello>>,
  MustHold<Same<z.infer<typeof serverHelloSchema>, ServerHello>>,
  MustHold<Same<z.infer<typeof clientAuthSchema>, ClientAuth>>,
];

/** Handshake frames are small: anything bigger before authentication is refused unread. */
export const MAX_HANDSHAKE_FRAME_BYTES = 4096;
