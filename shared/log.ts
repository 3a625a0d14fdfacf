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
export function createLogger(level: LogLevel = 'info', opts: { name?: string; pretty?: boolean } = {}): Logger {
  const dest = opts.pretty ? prettyStderr() : pino.destination({ fd: 2, sync: true });
  return pino({ name: opts.name ?? 'starling', level, base: undefined }, dest) as unknown as Logger;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function prettyStderr(): { write(line: string): void } {
  return {
    write(line: string) {
      try {
        const o = JSON.parse(line) as { level: number; time: number; msg?: string };
        const t = new Date(o.time).toISOString().slice(11, 19);
        process.stderr.write(`${t} ${LEVELS[o.level] ?? o.level} ${o.msg ?? ''}\n`);
      } catch {
        process.stderr.write(line);
      }
    },
  };
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
