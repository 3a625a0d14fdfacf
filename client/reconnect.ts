import { CloseCode, ConnectionClosedError, RemoteError, StarlingError } from '../shared/errors.ts';

/** How a client agent retries a refused or dropped connection. */
export interface ReconnectOptions {
  /** Failed attempts in a row before giving up (a session that was welcomed resets the count). */
  readonly attempts: number;
  /** The first wait; each further one doubles, up to `maxDelayMs`, with ±25 % jitter. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * A session that answered a task, or lasted this long, was healthy: the next failure starts the
 * retry count afresh. One welcomed and dropped at once keeps counting, so it cannot loop forever.
 */
export const HEALTHY_SESSION_MS = 30_000;

/** 8 attempts: 0.5, 1, 2, 4, 8, 15, 15, 15 s — about a minute of a coordinator being away or flooded. */
export const DEFAULT_RECONNECT: ReconnectOptions = { attempts: 8, baseDelayMs: 500, maxDelayMs: 15_000 };

/**
 * Close codes after which connecting again can help: the connection broke (1006), the
 * coordinator went away or restarts (1001, 1012), was overloaded (1013) or timed us
 * out while busy (4408). A refusal of this client — its identity (4401), a protocol error
 * (4400, 4409, 4422, 4426), a newer session of the same identity (4410), a frame too big
 * (1009) or a normal close — would only be repeated.
 */
const RETRIABLE_CLOSE = new Set<number>([1001, 1006, 1011, 1012, 1013, CloseCode.timeout]);

/** Whether a failed session is worth another connection. */
export function isRetriable(err: unknown): boolean {
  if (!(err instanceof StarlingError)) return false;
  // a timeout, ours or the coordinator's (reported before it closes with 4408), is worth another try
  if (err.code === 'E_CONNECT' || err.code === 'E_TIMEOUT' || (err instanceof RemoteError && err.remoteCode === 'E_TIMEOUT')) return true;
  return err instanceof ConnectionClosedError && RETRIABLE_CLOSE.has(err.closeCode);
}

/** The wait before retry number `failures` (0-based): exponential, capped, jittered so a crowd of clients does not return in step. */
export function retryDelayMs(options: ReconnectOptions, failures: number, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** failures);
  return Math.round(base * (0.75 + 0.5 * random()));
}
