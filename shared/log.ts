import pino from 'pino';

/** The logger library code takes in its options. pino's shape, narrowed to what Starling uses. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * A structured logger on stderr (stdout belongs to the per-round output and
 * `--json`): JSON lines, or short human lines when `pretty` (the CLI's choice on a terminal).
 */
export function createLogger(
  level: LogLevel = 'info',
  opts: {
    name?: string;
    pretty?: boolean /** Where pretty lines go (stderr when absent): a terminal's status line may need to step aside. */;
    write?: (line: string) => void;
  } = {},
): Logger {
  const dest = opts.pretty ? prettyStderr(opts.write) : pino.destination({ fd: 2, sync: true });
  return pino({ name: opts.name ?? 'starling', level, base: undefined, hooks: { streamWrite: escapeJsonLine } }, dest) as unknown as Logger;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/**
 * One pino JSON line as one human terminal line ("12:00:00 WARN message\n"). Messages
 * carry text peers sent (error frames, close reasons, client names), so every control
 * character is escaped here, at the sink, where no call site can forget it: a peer can
 * neither forge a second log line nor drive the terminal (ESC[2J clears the screen).
 */
export function formatPrettyLine(jsonLine: string): string {
  let o: { level?: number; time?: number; msg?: unknown };
  try {
    o = JSON.parse(jsonLine) as typeof o;
  } catch {
    return `${escapeControls(jsonLine.replace(/\n$/, ''))}\n`;
  }
  const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 19) : '--:--:--';
  const level = o.level === undefined ? '?' : (LEVELS[o.level] ?? String(o.level));
  return `${t} ${escapeControls(level)} ${escapeControls(typeof o.msg === 'string' ? o.msg : String(o.msg ?? ''))}\n`;
}

function prettyStderr(write: (line: string) => void = (line) => void process.stderr.write(line)): { write(line: string): void } {
  return { write: (line: string) => write(formatPrettyLine(line)) };
}

/**
 * Characters that act on a terminal instead of printing, beyond the C0 controls (ESC, CR,
 * LF, TAB…): DEL and the C1 controls (U+0085 is a line break, U+009B a one-byte CSI), the
 * Unicode line and paragraph separators, and the bidirectional marks, embeddings,
 * overrides and isolates that reorder what a reader sees ("Trojan Source").
 */
const NON_ASCII_CONTROLS = '\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
const CONTROLS = new RegExp(`[\\u0000-\\u001f${NON_ASCII_CONTROLS}]`, 'g');
const JSON_UNESCAPED = new RegExp(`[${NON_ASCII_CONTROLS}]`, 'g');

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A JSON log line with the controls JSON leaves raw (it escapes only C0) written as
 * `\uXXXX`: the same JSON value, but safe to `tail` on a terminal. Such characters can
 * only sit inside strings, so the substitution never changes what the line parses to.
 */
function escapeJsonLine(line: string): string {
  return line.replace(JSON_UNESCAPED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `s` with every terminal control character written as a visible escape (`\x1b`, `\n`, `\u2028`): always one printable line. */
export function escapeControls(s: string): string {
  return s.replace(CONTROLS, (c) => SHORT[c] ?? escapeCode(c.charCodeAt(0)));
}

function escapeCode(code: number): string {
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A string a peer sent, ready to embed in a log message or an error: quoted (so where
 * it starts and ends is plain), cut to `max` characters (a peer cannot flood a log line;
 * the cut is marked with …), and with quotes, backslashes and control characters escaped.
 */
export function peerText(s: string, max = 200): string {
  const chars = Array.from(String(s));
  const cut = chars.length > max ? `${chars.slice(0, max).join('')}…` : chars.join('');
  return `"${escapeControls(cut.replace(/[\\"]/g, (c) => `\\${c}`))}"`;
}

/** A logger that drops everything: the default for library code and tests. */
export const silentLogger: Logger = createSilent();

function createSilent(): Logger {
  const noop = () => {};
  const l: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => l };
  return l;
}

/** A logger that records entries in memory, for tests that assert what was logged. */
export function memoryLogger(): Logger & { entries: { level: string; obj: unknown; msg?: string }[] } {
  const entries: { level: string; obj: unknown; msg?: string }[] = [];
  const at = (level: string) => (obj: object | string, msg?: string) => {
    entries.push({ level, obj, msg: msg ?? (typeof obj === 'string' ? obj : undefined) });
  };
  const l = { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => l };
  return l;
}
