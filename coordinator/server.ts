import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { Admission } from '../shared/crypto/handshake.ts';
import type { Identity } from '../shared/crypto/primitives.ts';
import { ClientConnection } from './client-connection.ts';
import type { ClientHandle, Traffic, Transport } from './transport.ts';

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly runId: string;
  readonly maxPayloadBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly log: Logger;
  /**
   * The coordinator's identity and who may join. Absent only in --insecure mode
   * (plaintext frames; refused off loopback by the CLI).
   */
  readonly security?: { readonly identity: Identity; readonly admission: Admission };
  /** Extra fields for GET /status. */
  readonly status?: () => Record<string, unknown>;
}

/**
 * The coordinator's network face: HTTP (GET /health, GET /status) and a
 * WebSocket endpoint on one port. It owns the connections and implements the
 * round loop's Transport; it never advances rounds itself.
 */
export class CoordinatorServer implements Transport {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly opts: ServerOptions;
  private readonly clients = new Map<string, ClientConnection>();
  private readonly all = new Set<ClientConnection>();
  /** One session per identity: the newest connection of a key replaces the older one. */
  private readonly sessions = new Map<string, ClientConnection>();
  private readonly waiters = new Set<() => void>();
  private nextId = 1;
  private bytesIn = 0;
  private bytesOut = 0;

  private constructor(opts: ServerOptions) {
    this.opts = opts;
    this.http = createServer((req, res) => this.onHttp(req, res));
    this.wss = new WebSocketServer({ server: this.http, maxPayload: opts.maxPayloadBytes, perMessageDeflate: false });
    this.wss.on('connection', (socket, req) => this.onConnection(socket, req));
    // an accept failure (EMFILE under a connection flood, say) is logged, never a crash
    this.wss.on('error', (err) => opts.log.error({ err: err.message }, `websocket server error: ${err.message}`));
  }

  static async listen(opts: ServerOptions): Promise<CoordinatorServer> {
    const server = new CoordinatorServer(opts);
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(opts.port, opts.host, () => {
        server.http.off('error', reject);
        server.http.on('error', (err) => opts.log.error({ err: err.message }, `http server error: ${err.message}`));
        resolve();
      });
    });
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `ws://${host}:${this.port}`;
  }

  connected(): ClientHandle[] {
    return [...this.clients.values()].filter((c) => c.ready);
  }

  waitForClients(n: number, timeoutMs: number): Promise<void> {
    if (this.connected().length >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.connected().length >= n) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`only ${this.connected().length} of ${n} clients connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  traffic(): Traffic {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  async finish(reason: string, rounds: number): Promise<void> {
    for (const c of [...this.all]) c.finish(reason, rounds);
  }

  /** Stops accepting, closes every connection and the HTTP server. */
  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.close(CloseCode.goingAway, 'coordinator shutting down');
    // peers get a moment to answer the close; a silent one is cut off rather than waited for (ws waits 30 s)
    const cutoff = setTimeout(() => {
      for (const socket of this.wss.clients) socket.terminate();
    }, 1000);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    clearTimeout(cutoff);
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private onConnection(socket: WebSocket, req: IncomingMessage): void {
    const id = `c${this.nextId++}`;
    const log = this.opts.log;
    log.debug({ id, remote: req.socket.remoteAddress }, 'connection opened');
    const conn = new ClientConnection({
      id,
      runId: this.opts.runId,
      socket,
      security: this.opts.security,
      maxPayloadBytes: this.opts.maxPayloadBytes,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
      log,
      onReady: (c) => {
        this.clients.set(c.id, c);
        for (const w of [...this.waiters]) w();
      },
      onAuthenticated: (c) => {
        const previous = this.sessions.get(c.peerKey!);
        this.sessions.set(c.peerKey!, c);
        if (previous && previous !== c) {
          log.warn({ key: c.peerKey, old: previous.id, new: c.id }, `identity ${c.peerKey} connected again as ${c.id}; closing its older session ${previous.id}`);
          previous.replace();
        }
      },
      onClosed: (c) => {
        this.clients.delete(c.id);
        this.all.delete(c);
        if (c.peerKey && this.sessions.get(c.peerKey) === c) this.sessions.delete(c.peerKey);
      },
      countIn: (b) => {
        this.bytesIn += b;
      },
      countOut: (b) => {
        this.bytesOut += b;
      },
    });
    this.all.add(conn);
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/health') return reply(200, { ok: true });
    if (req.method === 'GET' && req.url === '/status') {
      return reply(200, { runId: this.opts.runId, clients: this.connected().map((c) => ({ id: c.id, name: c.name })), ...this.opts.status?.() });
    }
    reply(404, { error: `no route for ${req.method} ${req.url}` });
  }
}
