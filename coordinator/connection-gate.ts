import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from '../shared/log.ts';

export interface GateOptions {
  /** Connections that have not authenticated yet, in all (TCP accepted → handshake proven). */
  readonly maxUnauthenticated: number;
  /** The same, from one remote address. */
  readonly maxUnauthenticatedPerAddress: number;
  /** A connection must have authenticated this long after its TCP accept, HTTP upgrade included. */
  readonly authTimeoutMs: number;
  /**
   * Open connections of any kind before new ones are refused: kept below the process's
   * file-descriptor limit, so the coordinator refuses (and says so) instead of running out
   * (libuv then drops connections silently). Unbounded when undefined.
   */
  readonly maxOpen?: number;
  readonly log: Logger;
}

/** Refusals are logged at most this often (with a count), so a flood cannot flood the log too. */
const LOG_EVERY_MS = 5_000;

/**
 * Admission at the TCP level, before any byte is parsed: caps how many connections may be
 * unauthenticated at once (in all and per address) and how long one may stay so. A peer that
 * trickles its HTTP upgrade or handshake at a byte a second is cut off at `authTimeoutMs`; a
 * thousand of them are refused at the cap instead of exhausting file descriptors, and each
 * refusal is logged (rate-limited).
 */
export class ConnectionGate {
  private readonly opts: GateOptions;
  private readonly waiting = new Map<Socket, { readonly address: string; readonly timer: NodeJS.Timeout }>();
  private readonly perAddress = new Map<string, number>();
  private open = 0;
  private refusedSinceLog = 0;
  private lastLog = 0;
  /** Connections refused at a cap so far. */
  private refused = 0;

  constructor(opts: GateOptions) {
    this.opts = opts;
  }

  /** Unauthenticated connections now. */
  get pending(): number {
    return this.waiting.size;
  }

  /** A new TCP connection: admitted (and timed), or destroyed at once when a cap is reached. */
  admit(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.opts.maxOpen !== undefined && this.open >= this.opts.maxOpen)
      return this.refuse(socket, `${this.open} connections are open, near this process's file-descriptor limit (ulimit -n)`);
    if (this.waiting.size >= this.opts.maxUnauthenticated)
      return this.refuse(socket, `${this.waiting.size} unauthenticated connections are open (maxUnauthenticated)`);
    if (fromAddress >= this.opts.maxUnauthenticatedPerAddress)
      return this.refuse(socket, `${fromAddress} unauthenticated connections are open from ${address} (maxUnauthenticatedPerAddress)`);
    const timer = setTimeout(() => {
      this.opts.log.warn({ remote: address }, `closing a connection from ${address}: not authenticated within ${this.opts.authTimeoutMs} ms of connecting`);
      socket.destroy();
    }, this.opts.authTimeoutMs);
    timer.unref();
    this.waiting.set(socket, { address, timer });
    this.perAddress.set(address, fromAddress + 1);
    this.open++;
    socket.once('close', () => {
      this.open--;
      this.authenticated(socket);
    });
  }

  /** The connection proved its identity (or, without the secure channel, said hello): no longer counted or timed. */
  authenticated(socket: Socket): void {
    const entry = this.waiting.get(socket);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.waiting.delete(socket);
    const left = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(entry.address, left);
    else this.perAddress.delete(entry.address);
  }

  /** Stops every timer (the server is closing). */
  close(): void {
    for (const socket of [...this.waiting.keys()]) this.authenticated(socket);
  }

  private refuse(socket: Socket, why: string): void {
    socket.destroy();
    this.refused++;
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.opts.log.warn(
      { refused: this.refusedSinceLog, total: this.refused },
      `refused ${this.refusedSinceLog} connection${this.refusedSinceLog === 1 ? '' : 's'}: ${why}`,
    );
    this.refusedSinceLog = 0;
    this.lastLog = now;
  }
}

/** Descriptors kept free for everything but client connections: files, the worker pool, logs, DNS. */
const FD_RESERVE = 128;

/**
 * How many connections may be open at once within this process's soft file-descriptor limit
 * (Linux: /proc/self/limits), less a reserve; undefined where the limit cannot be read or is unlimited.
 */
export function connectionsWithinFdLimit(limits = '/proc/self/limits'): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync(limits, 'utf8'));
    return m ? Math.max(16, Number(m[1]) - FD_RESERVE) : undefined;
  } catch {
    return undefined;
  }
}
