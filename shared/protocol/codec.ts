import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { protocolError } from '../errors.ts';
import { checkBounds, type DecodeLimits } from './bounds.ts';
import type { Message } from './messages.ts';
import type { ClientAuth, ClientHello, ServerHello } from './handshake-messages.ts';

/** Every message the schemas describe: the protocol's and the handshake's. */
export type Encodable = Message | ClientHello | ServerHello | ClientAuth;

/**
 * Message ⇄ bytes. msgpackr with `moreTypes` so a Float32Array travels as raw
 * bytes and decodes as a Float32Array. Decoding is the wire boundary: size check
 * before anything else, decode inside try/catch, then the schema — never a cast.
 */
const packr = new Packr({ moreTypes: true, useRecords: false, bundleStrings: false });

/** Encodes a message. The result is a copy: msgpackr's own output is a view of a reused buffer. */
export function encodeMessage(msg: Encodable): Uint8Array {
  return new Uint8Array(encodeTransient(msg)); // typed-array constructor: one memcpy
}

/**
 * Encodes a message into msgpackr's reused buffer: the view is valid only until the next
 * encoding, for a caller that copies it at once (sealing writes the ciphertext elsewhere), which
 * saves a model-sized allocation and copy per frame.
 */
export function encodeTransient(msg: Encodable): Uint8Array {
  return packr.pack(msg);
}

/**
 * Shape limits when the caller has none tighter: generous enough for any task a coordinator
 * sends (a model spec, 100,000 secure-aggregation shares), small enough that no frame decodes
 * into millions of objects. The coordinator passes per-state limits (coordinator/frame-limits.ts).
 */
export const DEFAULT_LIMITS: DecodeLimits = { maxItems: 1_000_000, maxContainer: 100_000, maxDepth: 16, maxString: 64 * 1024 };

export function decodeMessage<S extends z.ZodType>(bytes: Uint8Array, schema: S, maxBytes: number, limits: DecodeLimits = DEFAULT_LIMITS): z.infer<S> {
  if (bytes.byteLength > maxBytes) throw protocolError.tooBig(bytes.byteLength, maxBytes);
  if (bytes.byteLength === 0) throw protocolError.malformed('empty frame');
  // container, string and nesting sizes are bounded while walking the bytes, before msgpackr allocates anything
  checkBounds(bytes, limits);
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (cause) {
    throw protocolError.malformed(`not valid msgpack (${(cause as Error).message})`, cause);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const tag = typeof value === 'object' && value !== null && 'type' in value ? String((value as { type: unknown }).type).slice(0, 32) : undefined;
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw protocolError.invalid(`${tag ? `"${tag}" ` : ''}${issue?.message ?? 'does not match the schema'}${where}`);
  }
  return parsed.data;
}
