import type { KeyObject } from 'node:crypto';
import { KEY_BYTES } from '../crypto/primitives.ts';
import { SecAggError } from '../errors.ts';
import type { MaskTerm } from './mask-kernel.ts';

/* What the secure-aggregation workers (mask-worker.ts) and the pool that feeds them (mask-workers.ts) say to each other. */

/**
 * A range of a shared vector to mask: what a worker is sent. The terms travel packed, every
 * key in one buffer and the signs in another, so a job clones as two small buffers rather
 * than an object and a buffer per term.
 */
export interface MaskJob {
  readonly id: number;
  readonly kind: 'mask';
  readonly buffer: SharedArrayBuffer;
  readonly start: number;
  readonly end: number;
  /** Term j's key is bytes 32j..32j+31. */
  readonly keys: Uint8Array;
  readonly signs: Int8Array;
}

/** The terms a job carries, packed for the trip to a worker… */
export function packTerms(terms: readonly MaskTerm[]): { keys: Uint8Array; signs: Int8Array } {
  const keys = new Uint8Array(KEY_BYTES * terms.length);
  const signs = new Int8Array(terms.length);
  terms.forEach((term, j) => {
    if (term.key.length !== KEY_BYTES) throw new SecAggError('E_SECAGG_INVALID', `a mask key is ${KEY_BYTES} bytes, not ${term.key.length}`);
    keys.set(term.key, KEY_BYTES * j);
    signs[j] = term.sign;
  });
  return { keys, signs };
}

/** …and unpacked there. */
export function unpackTerms(keys: Uint8Array, signs: Int8Array): MaskTerm[] {
  return Array.from(signs, (sign, j) => ({ key: keys.subarray(KEY_BYTES * j, KEY_BYTES * (j + 1)), sign: sign === -1 ? -1 : 1 }));
}

/** One X25519 agreement to compute: our private key with a peer's raw public key. */
export interface AgreementRequest {
  readonly ours: KeyObject;
  readonly theirs: Uint8Array;
}

/**
 * Agreements for a worker: agreement i is ours[which[i]] with the peer key at bytes
 * 32i..32i+31 of `theirs`. A KeyObject crosses to a worker thread as a handle on the same
 * key, without its secret being serialized.
 */
export interface AgreeJob {
  readonly id: number;
  readonly kind: 'agree';
  readonly ours: readonly KeyObject[];
  readonly which: Uint8Array;
  readonly theirs: Uint8Array;
}

export function packAgreements(requests: readonly AgreementRequest[]): Omit<AgreeJob, 'id' | 'kind'> {
  const ours: KeyObject[] = [];
  const which = new Uint8Array(requests.length);
  const theirs = new Uint8Array(KEY_BYTES * requests.length);
  requests.forEach((r, i) => {
    let k = ours.indexOf(r.ours);
    if (k < 0) k = ours.push(r.ours) - 1;
    if (k > 255) throw new SecAggError('E_SECAGG_INVALID', 'an agreement job takes at most 256 private keys');
    which[i] = k;
    // a key of another length cannot agree: zeros stand in, and the result is refused like any failed agreement
    if (r.theirs.length === KEY_BYTES) theirs.set(r.theirs, KEY_BYTES * i);
  });
  return { ours, which, theirs };
}

export type WorkerJob = MaskJob | AgreeJob;

export interface MaskReply {
  readonly id: number;
  /** Set when the worker threw: the job is redone on the calling thread, which throws the same error. */
  readonly error?: string;
  /** An agree job's results: 32 bytes each, in order, and whether each succeeded (1) or failed like agree()'s null (0). */
  readonly secrets?: Uint8Array;
  readonly ok?: Uint8Array;
}
