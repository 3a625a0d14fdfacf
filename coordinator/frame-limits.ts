import { SEAL_OVERHEAD } from '../shared/crypto/session-sealer.ts';
import { CONTROL_LIMITS, type DecodeLimits } from '../shared/protocol/bounds.ts';
import type { SecAggWirePhase } from '../shared/protocol/messages.ts';

/**
 * What a connection may receive next, in bytes and in shape (docs/protocol.md, "Frame
 * limits"). A peer is only ever allowed a frame as large as the message its state can
 * legitimately send: a hello or an error is a few KiB; a fit result is the model's size
 * plus a small margin; a secure-aggregation answer grows with the round's n. Anything
 * larger is refused from its frame header, before a byte of it is buffered.
 */
export interface Allowance {
  readonly bytes: number;
  readonly shape: DecodeLimits;
}

/** Room for the fields beside a result's vector: ids, seconds, up to 64 metrics with 64-character (UTF-8: ≤ 192-byte) names. */
const MARGIN = 20 * 1024;
/** A secure-aggregation share as sent: {from, to, ciphertext ≤ 1 KiB} with its msgpack framing. */
const SHARE_BYTES = 1024 + 48;
/** A revealed share: {of, share: ≤ 64 limbs} with framing; a complaint: {about, reason ≤ 256 characters}. */
const REVEALED_BYTES = 64 * 4 + 48;
const COMPLAINT_BYTES = 256 * 3 + 32;

/** hello, error, an evaluate result, secure aggregation's advertised keys: anything without a vector. */
export const CONTROL_ALLOWANCE: Allowance = { bytes: CONTROL_LIMITS.maxString + MARGIN + SEAL_OVERHEAD, shape: CONTROL_LIMITS };

/** A fitResult whose delta has `values` float32 values: the vector is one typed array, so the shape is a control message's. */
export function fitResultAllowance(values: number): Allowance {
  return { bytes: 4 * values + CONTROL_ALLOWANCE.bytes, shape: CONTROL_LIMITS };
}

/** The answer to one secure-aggregation phase of a round of `n` clients (`words`: the masked vector's length). */
export function secaggAllowance(phase: SecAggWirePhase, n: number, words: number): Allowance {
  const lists = (entries: number, valuesEach: number): DecodeLimits => ({
    ...CONTROL_LIMITS,
    maxItems: CONTROL_LIMITS.maxItems + entries * valuesEach,
    maxContainer: Math.max(CONTROL_LIMITS.maxContainer, n),
  });
  switch (phase) {
    case 'advertise':
      return CONTROL_ALLOWANCE;
    case 'shareKeys': // one share for each other client: a map of 3 entries is 7 values
      return { bytes: n * SHARE_BYTES + CONTROL_ALLOWANCE.bytes, shape: lists(n, 7) };
    case 'maskedInput': // the masked words, and at most one complaint about each other client
      return { bytes: 4 * words + n * COMPLAINT_BYTES + CONTROL_ALLOWANCE.bytes, shape: lists(n, 5) };
    case 'unmask': // one revealed share of each other client, in two lists
      return { bytes: 2 * n * REVEALED_BYTES + CONTROL_ALLOWANCE.bytes, shape: lists(2 * n, 5) };
  }
}

/** The larger of two allowances, field by field. */
export function widest(a: Allowance, b: Allowance): Allowance {
  return {
    bytes: Math.max(a.bytes, b.bytes),
    shape: {
      maxItems: Math.max(a.shape.maxItems, b.shape.maxItems),
      maxContainer: Math.max(a.shape.maxContainer, b.shape.maxContainer),
      maxDepth: Math.max(a.shape.maxDepth, b.shape.maxDepth),
      maxString: Math.max(a.shape.maxString, b.shape.maxString),
    },
  };
}

/** The largest answer a client of a run can legitimately send: a fit result, or with secure aggregation its largest phase's answer. */
export function largestAnswerBytes(trainable: number, clients: number, secagg: boolean): number {
  let need = fitResultAllowance(trainable).bytes;
  if (secagg) {
    for (const phase of ['shareKeys', 'maskedInput', 'unmask'] as const) need = Math.max(need, secaggAllowance(phase, clients, trainable + 1).bytes);
  }
  return need;
}

/** The default `maxPayloadBytes` (the hard cap on any frame): the run's largest answer (largestAnswerBytes), rounded up to a MiB. */
export function defaultMaxPayloadBytes(largestAnswer: number): number {
  const MiB = 1024 * 1024;
  return Math.ceil(largestAnswer / MiB) * MiB;
}

/**
 * The default receive budget: what every connection together may hold in allowances above
 * the control size at once — a round's worth of results from every client, twice over
 * (a late result of the last round and this round's), and never less than 64 MiB.
 */
export function defaultReceiveBudgetBytes(maxPayloadBytes: number, clients: number): number {
  return Math.max(64 * 1024 * 1024, 2 * clients * maxPayloadBytes);
}
