import type { z } from 'zod';
import { protocolError } from '../errors.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import type { DecodeLimits } from './bounds.ts';
import type { Encodable } from './codec.ts';

/**
 * The frame path, one place for both sides: message → encode → seal → socket,
 * socket → open → decode + validate → message.
 *
 * `FrameSealer` is where encryption slots in: the authenticated-encryption issue
 * replaces `plaintextSealer` with a per-connection sealer holding the session keys
 * and counters. `open` returns null when a frame fails authentication, which `fromFrame`
 * turns into a protocol error.
 */
export interface FrameSealer {
  seal(plain: Uint8Array): Uint8Array;
  open(sealed: Uint8Array): Uint8Array | null;
}

export const plaintextSealer: FrameSealer = {
  seal: (plain) => plain,
  open: (sealed) => sealed,
};

export function toFrame(msg: Encodable, sealer: FrameSealer): Uint8Array {
  return sealer.seal(encodeMessage(msg));
}

/** Opens, decodes and validates one frame; throws a ProtocolError saying what is wrong. */
export function fromFrame<S extends z.ZodType>(frame: Uint8Array, schema: S, sealer: FrameSealer, maxBytes: number, limits?: DecodeLimits): z.infer<S> {
  if (frame.byteLength > maxBytes) throw protocolError.tooBig(frame.byteLength, maxBytes);
  const plain = sealer.open(frame);
  if (plain === null) throw protocolError.unauthenticated();
  return decodeMessage(plain, schema, maxBytes, limits);
}
