import type { z } from 'zod';
import { protocolError } from '../errors.ts';
import { decodeMessage, encodeTransient } from './codec.ts';
import type { DecodeLimits } from './bounds.ts';
import type { Encodable } from './codec.ts';
import type { FrameSealer } from '../crypto/frame-sealer.ts';

export type { FrameSealer };

/**
 * The frame path, one place for both sides: message → encode → seal → socket,
 * socket → open → decode + validate → message. `FrameSealer` (crypto/frame-sealer.ts) is
 * where encryption slots in; `plaintextSealer` seals nothing, for a connection until its
 * handshake yields a session sealer and for connections without security.
 */
export const plaintextSealer: FrameSealer = {
  seal: (plain) => new Uint8Array(plain),
  open: (sealed) => sealed,
};

export function toFrame(msg: Encodable, sealer: FrameSealer): Uint8Array {
  // the encoding is the codec's reused buffer: every sealer writes its frame elsewhere
  return sealer.seal(encodeTransient(msg));
}

/** Opens, decodes and validates one frame; throws a ProtocolError saying what is wrong. */
export function fromFrame<S extends z.ZodType>(frame: Uint8Array, schema: S, sealer: FrameSealer, maxBytes: number, limits?: DecodeLimits): z.infer<S> {
  if (frame.byteLength > maxBytes) throw protocolError.tooBig(frame.byteLength, maxBytes);
  const plain = sealer.open(frame);
  if (plain === null) throw protocolError.unauthenticated();
  return decodeMessage(plain, schema, maxBytes, limits);
}
