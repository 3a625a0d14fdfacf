import type { Socket } from 'node:net';
import type { Logger } from '../shared/log.ts';

export interface GateOptions {
  /** Connections that have not authenticated yet, in all (TCP accepted → handshake proven). */
  readonly maxUnauthenticated: number;
  /** The same, from one remote address. */
  readonly maxUnauthenticatedPerAddress: number;
  /** A connection must have authenticated this long after its TCP accept, HTTP upgrade included. */
  readonly authTimeoutMs: number;
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
  private refusedSinceLog = 0;
  private lastLog = 0;
  /** Connections refused at a cap so far. */
  refused = 0;

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
    if (this.waiting.size >= this.opts.maxUnauthenticated) return this.refuse(socket, `${this.waiting.size} unauthenticated connections are open (maxUnauthenticated)`);
    if (fromAddress >= this.opts.maxUnauthenticatedPerAddress) return this.refuse(socket, `${fromAddress} unauthenticated connections are open from ${address} (maxUnauthenticatedPerAddress)`);
    const timer = setTimeout(() => {
      this.opts.log.warn({ remote: address }, `closing a connection from ${address}: not authenticated within ${this.opts.authTimeoutMs} ms of connecting`);
      socket.destroy();
    }, this.opts.authTimeoutMs);
    timer.unref();
    this.waiting.set(socket, { address, timer });
    this.perAddress.set(address, fromAddress + 1);
    socket.once('close', () => this.authenticated(socket));
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
    this.opts.log.warn({ refused: this.refusedSinceLog, total: this.refused }, `refused ${this.refusedSinceLog} connection${this.refusedSinceLog === 1 ? '' : 's'}: ${why}`);
    this.refusedSinceLog = 0;
    this.lastLog = now;
  }
}
