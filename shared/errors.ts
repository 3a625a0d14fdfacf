/**
 * All of Starling's error classes and codes, in one place. Every error carries a stable
 * `code` from ERROR_CODES (for programs and tests; docs/errors.md explains each) and an
 * optional `cause`; protocol errors also carry the WebSocket close code the connection is
 * closed with.
 */
export const ERROR_CODES = [
  'E_CONFIG',
  'E_DATA',
  'E_INVALID_ARGUMENT',
  'E_BACKEND',
  'E_ENGINE',
  'E_KERNEL_TRAP',
  'E_POOL',
  'E_TRAIN',
  'E_EVALUATE',
  'E_TOO_FEW_RESULTS',
  'E_AGGREGATION',
  'E_SECAGG_ABORTED',
  'E_SECAGG_REFUSED',
  'E_SECAGG_INVALID',
  'E_FRAME_TOO_BIG',
  'E_MALFORMED',
  'E_INVALID_MESSAGE',
  'E_UNEXPECTED_MESSAGE',
  'E_VERSION',
  'E_UNAUTHENTICATED',
  'E_REPLAY',
  'E_HANDSHAKE',
  'E_TIMEOUT',
  'E_REPLACED',
  'E_CONNECT',
  'E_CLOSED',
  'E_DROPOUT',
  'E_DIVERGED',
  'E_CLIENT',
  'E_TASK',
  'E_WAIT',
  'E_REMOTE',
  'E_STORE',
  'E_CHECKPOINT',
  'E_RESUME',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class StarlingError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StarlingError';
    this.code = code;
  }
}

/** A checkpoint that cannot be used: missing, truncated, corrupt (checksum), or not of this run. The message names the file. */
export class CheckpointError extends StarlingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CHECKPOINT', message, options);
    this.name = 'CheckpointError';
  }
}

/** A bad configuration value, flag or file. */
export class ConfigError extends StarlingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** Input data that cannot be used (a missing file, a malformed row, a shape mismatch). */
export class DataError extends StarlingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_DATA', message, options);
    this.name = 'DataError';
  }
}

/**
 * A function called with a value outside what it accepts (vectors of different lengths, a
 * fraction out of range, more clients than rows): a bug in the caller, or a value no earlier
 * check caught.
 */
export class InvalidArgumentError extends StarlingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

/**
 * Why a task sent to a client came back without a result, in a word a monitor can count by:
 * it missed its deadline; its session was lost (it may come back); it broke the protocol; it
 * answered that it could not do the task, or that its training diverged; it reported an error
 * and left; the coordinator rejected its result (an update norm over the bound); it dropped out
 * of a secure round; or anything else (busy, the run ended).
 */
export type TaskFailureKind = 'deadline' | 'disconnected' | 'protocol' | 'refused' | 'diverged' | 'client_error' | 'rejected' | 'dropout' | 'other';

/** A task that came back without a result (`E_TASK`); `kind` says why in a word, the message in full. */
export class TaskError extends StarlingError {
  readonly kind: TaskFailureKind;
  constructor(kind: TaskFailureKind, message: string, options?: { cause?: unknown }) {
    super('E_TASK', message, options);
    this.name = 'TaskError';
    this.kind = kind;
  }
}

/** The kind of a task's failure: a TaskError's own, 'protocol' for a broken protocol (an invalid result, a frame timeout), 'other' for any other error. */
export function taskFailureKind(err: unknown): TaskFailureKind {
  if (err instanceof TaskError) return err.kind;
  return err instanceof ProtocolError ? 'protocol' : 'other';
}

/** The other side reported an error (`E_REMOTE`) and closed: `remoteCode` is the code it sent, the message says what it said. */
export class RemoteError extends StarlingError {
  readonly remoteCode: string;
  constructor(remoteCode: string, message: string) {
    super('E_REMOTE', message);
    this.name = 'RemoteError';
    this.remoteCode = remoteCode;
  }
}

/** The coordinator closed a client's connection (`E_CLOSED`); `closeCode` says how. */
export class ConnectionClosedError extends StarlingError {
  readonly closeCode: number;
  constructor(closeCode: number, message: string) {
    super('E_CLOSED', message);
    this.name = 'ConnectionClosedError';
    this.closeCode = closeCode;
  }
}

/** A requested backend or engine that is not usable on this machine. */
export class BackendError extends StarlingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BACKEND', message, options);
    this.name = 'BackendError';
  }
}

/** WebSocket close codes Starling uses (4000–4999 are free for applications). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  tooBig: 1009,
  malformed: 4400,
  unauthorized: 4401,
  unexpected: 4409,
  versionMismatch: 4426,
  invalid: 4422,
  timeout: 4408,
  replaced: 4410,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** A peer broke the protocol: the connection is closed with `closeCode`. */
export class ProtocolError extends StarlingError {
  readonly closeCode: CloseCode;
  constructor(code: ErrorCode, closeCode: CloseCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ProtocolError';
    this.closeCode = closeCode;
  }
}

/** The single factory for protocol errors, so codes and close codes stay paired. */
export const protocolError = {
  tooBig: (bytes: number, limit: number) =>
    new ProtocolError('E_FRAME_TOO_BIG', CloseCode.tooBig, `frame of ${bytes} bytes exceeds the limit of ${limit} bytes`),
  malformed: (detail: string, cause?: unknown) => new ProtocolError('E_MALFORMED', CloseCode.malformed, `malformed frame: ${detail}`, { cause }),
  invalid: (detail: string) => new ProtocolError('E_INVALID_MESSAGE', CloseCode.invalid, `invalid message: ${detail}`),
  unexpected: (detail: string) => new ProtocolError('E_UNEXPECTED_MESSAGE', CloseCode.unexpected, `unexpected message: ${detail}`),
  version: (theirs: number, ours: number) =>
    new ProtocolError('E_VERSION', CloseCode.versionMismatch, `protocol version ${theirs} is not supported (this side speaks ${ours})`),
  unauthenticated: () =>
    new ProtocolError('E_UNAUTHENTICATED', CloseCode.unauthorized, 'frame failed authentication (bad tag: tampered, or sealed with another key)'),
  replay: (detail: string) => new ProtocolError('E_REPLAY', CloseCode.unauthorized, `frame out of sequence: ${detail}`),
  handshake: (detail: string) => new ProtocolError('E_HANDSHAKE', CloseCode.unauthorized, `handshake failed: ${detail}`),
  timeout: (what: string, ms: number) => new ProtocolError('E_TIMEOUT', CloseCode.timeout, `${what} did not arrive within ${ms} ms`),
};

/** Turns anything thrown into a one-line message for logs and CLI output. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Secure aggregation (shared/secagg/). `E_SECAGG_ABORTED`: a round cannot finish (fewer
 * than t participants in a phase, a secret that cannot be reconstructed); `E_SECAGG_REFUSED`:
 * a client refuses a request that would endanger its input (revealing both the self-mask
 * seed and the mask key of one client); `E_SECAGG_INVALID`: bad parameters or a malformed
 * value passed to a local call.
 */
export class SecAggError extends StarlingError {
  constructor(code: 'E_SECAGG_ABORTED' | 'E_SECAGG_REFUSED' | 'E_SECAGG_INVALID', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SecAggError';
  }
}

/**
 * A round's results cannot be aggregated (`E_AGGREGATION`): too few updates for a robust
 * rule (Krum needs n > 2f + 2), or an aggregate that is not finite. It is about this
 * round's data, not a bug: the round loop skips the round (model and strategy state
 * unchanged) and the run goes on.
 */
export class AggregationError extends StarlingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_AGGREGATION', message, options);
    this.name = 'AggregationError';
  }
}
