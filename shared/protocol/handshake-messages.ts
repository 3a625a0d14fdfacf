import { z } from 'zod';
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

export type ClientHello = z.infer<typeof clientHelloSchema>;
export type ServerHello = z.infer<typeof serverHelloSchema>;
export type ClientAuth = z.infer<typeof clientAuthSchema>;

/** Handshake frames are small: anything bigger before authentication is refused unread. */
export const MAX_HANDSHAKE_FRAME_BYTES = 4096;
