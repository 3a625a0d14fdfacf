import { CloseCode, ConfigError, ConnectionClosedError, RemoteError, StarlingError } from '../shared/errors.ts';

/** How a client agent retries a refused or dropped connection. */
export interface ReconnectOptions {
  /** Failed attempts in a row before giving up (a session that was welcomed and healthy resets the count). */
  readonly attempts: number;
  /** The cap of the first wait; each further cap doubles, up to `maxDelayMs`. The wait itself is uniform below the cap (full jitter). */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Give up once this long has passed since the connection was lost, whatever the count. */
  readonly giveUpAfterMs: number;
}

/**
 * A session that answered a task, or lasted this long, was healthy: the next failure starts the
 * retry count afresh. One welcomed and dropped at once keeps counting, so it cannot loop forever.
 */
export const HEALTHY_SESSION_MS = 30_000;

/**
 * 8 attempts under caps of 0.5, 1, 2, 4, 8, 15, 15, 15 s — at most about a minute of a coordinator
 * being away or flooded (half that on average) — and never more than ten minutes in all, however
 * many attempts are allowed: a round's default deadline, past which coming back saves nothing of it.
 */
export const DEFAULT_RECONNECT: ReconnectOptions = { attempts: 8, initialDelayMs: 500, maxDelayMs: 15_000, giveUpAfterMs: 600_000 };

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
  // a timeout, ours or the coordinator's (reported before it closes with 4408), is worth another try; so is a coordinator
  // that stopped answering heartbeats (ours too: E_TIMEOUT)
  if (err.code === 'E_CONNECT' || err.code === 'E_TIMEOUT' || (err instanceof RemoteError && err.remoteCode === 'E_TIMEOUT')) return true;
  return err instanceof ConnectionClosedError && RETRIABLE_CLOSE.has(err.closeCode);
}

/** The cap on the wait before retry number `failures` (0-based): exponential from initialDelayMs, at most maxDelayMs. */
export function retryCapMs(options: ReconnectOptions, failures: number): number {
  return Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** failures);
}

/**
 * The wait before retry number `failures` (0-based): uniform in [0, cap] ("full jitter"), so a
 * crowd of clients dropped at the same moment — a coordinator restart — spreads its return over
 * the whole window instead of arriving in waves at the same instants.
 */
export function retryDelayMs(options: ReconnectOptions, failures: number, random: () => number = Math.random): number {
  return Math.round(random() * retryCapMs(options, failures));
}

/**
 * What to do after a failed attempt: wait this long and try again, or give up (undefined).
 * `failures` counts the failures in a row before this one; `lostForMs` is how long ago the
 * connection was lost. A wait that would end past giveUpAfterMs is cut short, so the last
 * attempt is made at the give-up time rather than never.
 */
export function nextRetry(options: ReconnectOptions, failures: number, lostForMs: number, random: () => number = Math.random): number | undefined {
  if (failures >= options.attempts || lostForMs >= options.giveUpAfterMs) return undefined;
  return Math.min(retryDelayMs(options, failures, random), Math.ceil(options.giveUpAfterMs - lostForMs));
}

/** The flags of `starling client` that shape reconnection, as commander hands them over (text, or the parsed --retries). */
export interface ReconnectFlags {
  readonly retries?: unknown;
  readonly reconnectInitial?: unknown;
  readonly reconnectMax?: unknown;
  readonly reconnectGiveUp?: unknown;
}

/**
 * The agent's `reconnect` option from the client's flags: `false` for --retries 0 (never retry),
 * otherwise the values given (the rest default). A bad value is a ConfigError naming its flag.
 */
export function reconnectFromFlags(flags: ReconnectFlags): Partial<ReconnectOptions> | false {
  const attempts = count(flags.retries, '--retries', 0);
  if (attempts === 0) return false;
  const initialDelayMs = count(flags.reconnectInitial, '--reconnect-initial', 1);
  const maxDelayMs = count(flags.reconnectMax, '--reconnect-max', 1);
  const giveUp = seconds(flags.reconnectGiveUp, '--reconnect-give-up');
  const initial = initialDelayMs ?? DEFAULT_RECONNECT.initialDelayMs;
  if (maxDelayMs !== undefined && maxDelayMs < initial)
    throw new ConfigError(`--reconnect-max must be at least the first wait (--reconnect-initial, ${initial} ms), got ${maxDelayMs}`);
  return {
    ...(attempts !== undefined ? { attempts } : {}),
    ...(initialDelayMs !== undefined ? { initialDelayMs } : {}),
    ...(maxDelayMs !== undefined ? { maxDelayMs } : {}),
    ...(giveUp !== undefined ? { giveUpAfterMs: giveUp * 1000 } : {}),
  };
}

/** An integer flag value of at least `min` (absent: undefined), or the ConfigError naming the flag. */
function count(value: unknown, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(String(value).trim() === '' ? Number.NaN : value);
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError(`${flag} must be an integer of at least ${min}, got "${String(value)}"`);
  return n;
}

/** A positive number of seconds (absent: undefined), or the ConfigError naming the flag. */
function seconds(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(String(value).trim() === '' ? Number.NaN : value);
  // past 2^31 ms a timer would fire at once: cap well below, at a year
  if (!(n > 0 && n <= 365 * 24 * 3600)) throw new ConfigError(`${flag} must be a number of seconds greater than 0, got "${String(value)}"`);
  return n;
}
