/**
 * Where encryption slots into the frame path (protocol/frame.ts): before the handshake a
 * connection uses protocol's `plaintextSealer`, after it a `SessionSealer` holding the
 * session keys and counters. `open` returns null when a frame fails authentication, which
 * `fromFrame` turns into a protocol error. Defined here rather than in protocol/ so that
 * crypto/ implements it without importing the protocol it sits beneath.
 */
export interface FrameSealer {
  /** The frame for `plain`, in a buffer of its own: `plain` may be a view of a buffer its caller reuses at once. */
  seal(plain: Uint8Array): Uint8Array;
  open(sealed: Uint8Array): Uint8Array | null;
}
