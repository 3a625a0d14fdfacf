import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, StarlingError, errorMessage } from '../shared/errors.ts';
import type { DashboardFeed } from './dashboard/feed.ts';
import { dashboardRoute } from './dashboard/routes.ts';
import type { Logger } from '../shared/log.ts';
import type { Admission } from '../shared/crypto/handshake.ts';
import type { Identity } from '../shared/crypto/primitives.ts';
import { ClientConnection } from './client-connection.ts';
import { ClientPeer } from './client-peer.ts';
import { ConnectionGate, connectionsWithinFdLimit } from './connection-gate.ts';
import { CONTROL_ALLOWANCE } from './frame-limits.ts';
import { ReceiveBudget } from './receive-budget.ts';
import { MAX_HANDSHAKE_FRAME_BYTES } from '../shared/protocol/handshake-messages.ts';
import type { ClientHandle, Traffic, Transport } from './transport.ts';

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly runId: string;
  /** The hard cap on any frame (each connection's state allows less: frame-limits.ts). */
  readonly maxPayloadBytes: number;
  /** What all connections together may hold in result-sized frame allowances at once. */
  readonly receiveBudgetBytes: number;
  /** From TCP accept to a proven identity (HTTP upgrade and handshake included), and then to the hello. */
  readonly handshakeTimeoutMs: number;
  /** A frame that has started arriving must be complete within this. */
  readonly frameTimeoutMs: number;
  /** Ping every session this often; one that answers nothing between two pings is cut off as dead. 0 or absent: no heartbeats. */
  readonly heartbeatIntervalMs?: number;
  /** Caps on connections not yet authenticated: in all, and from one address. */
  readonly maxUnauthenticated: number;
  readonly maxUnauthenticatedPerAddress: number;
  /** Serve GET /status (the run's progress and the connected clients' names) to anyone who asks; off by default. */
  readonly statusEndpoint: boolean;
  readonly log: Logger;
  /**
   * The coordinator's identity and who may join. Absent only in --insecure mode
   * (plaintext frames; refused off loopback by the CLI).
   */
  readonly security?: { readonly identity: Identity; readonly admission: Admission };
  /** Extra fields for GET /status. */
  readonly status?: () => Record<string, unknown>;
  /** The dashboard's data (coordinator/dashboard/): GET /dashboard and its state, events and assets; absent: off. */
  readonly dashboard?: DashboardFeed;
  /** GET /metrics's text and content type (coordinator/metrics.ts); absent: the endpoint is off. */
  readonly metrics?: { readonly contentType: string; render(): Promise<string> };
}

/**
 * The coordinator's network face: HTTP (GET /health, GET /status, GET /metrics) and a
 * WebSocket endpoint on one port. It owns the connections and implements the
 * round loop's Transport; it never advances rounds itself. The round loop's
 * handles are client identities (ClientPeer), each forwarding to its current
 * session, so a client that reconnects keeps its place in the round.
 */
export class CoordinatorServer implements Transport {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly opts: ServerOptions;
  private readonly all = new Set<ClientConnection>();
  /** One session per identity: the newest connection of a key replaces the older one. */
  private readonly sessions = new Map<string, ClientConnection>();
  /** The clients by identity (key, or name without the secure channel): kept while they have a session or a task waits for them. */
  private readonly peers = new Map<string, ClientPeer>();
  private readonly peerOf = new Map<ClientConnection, ClientPeer>();
  private readonly waiters = new Set<() => void>();
  private readonly gate: ConnectionGate;
  private readonly budget: ReceiveBudget;
  private nextId = 1;
  private bytesIn = 0;
  private bytesOut = 0;

  private constructor(opts: ServerOptions) {
    this.opts = opts;
    // a backstop behind the HTTP header timeout and the connection's own handshake timer (which closes with a reason)
    this.gate = new ConnectionGate({
      maxUnauthenticated: opts.maxUnauthenticated,
      maxUnauthenticatedPerAddress: opts.maxUnauthenticatedPerAddress,
      authTimeoutMs: 2 * opts.handshakeTimeoutMs,
      maxOpen: connectionsWithinFdLimit(),
      log: opts.log,
    });
    this.budget = new ReceiveBudget(opts.receiveBudgetBytes);
    // request headers (an upgrade's too) must arrive within the handshake time; node checks every second
    const headersTimeout = Math.max(1000, opts.handshakeTimeoutMs);
    this.http = createServer({ headersTimeout, requestTimeout: headersTimeout, connectionsCheckingInterval: 1000 }, (req, res) => this.onHttp(req, res));
    this.http.on('connection', (socket: Socket) => this.gate.admit(socket));
    // every socket starts at the handshake's size (the control size without the secure channel): nothing bigger is buffered unauthenticated
    const firstFrame = opts.security ? MAX_HANDSHAKE_FRAME_BYTES : CONTROL_ALLOWANCE.bytes;
    this.wss = new WebSocketServer({ server: this.http, maxPayload: firstFrame, perMessageDeflate: false });
    // only the TCP socket under the upgrade is kept: the request (its headers) is garbage once upgraded
    this.wss.on('connection', (socket, req) => this.onConnection(socket, req.socket));
    // an accept failure (EMFILE under a connection flood, say) is logged, never a crash
    this.wss.on('error', (err) => opts.log.error({ err: err.message }, `websocket server error: ${err.message}`));
  }

  static async listen(opts: ServerOptions): Promise<CoordinatorServer> {
    const server = new CoordinatorServer(opts);
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(opts.port, opts.host, () => {
        server.http.off('error', reject);
        server.http.on('error', (err: NodeJS.ErrnoException) => {
          // out of file descriptors, accept fails and the peer is refused: say so, it is a capacity problem
          const why =
            err.code === 'EMFILE' || err.code === 'ENFILE'
              ? ' (out of file descriptors: a connection was refused; lower maxUnauthenticated or raise ulimit -n)'
              : '';
          opts.log.error({ err: err.message, code: err.code }, `http server error: ${err.message}${why}`);
        });
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
    return [...this.peers.values()].filter((p) => p.ready);
  }

  waitForClients(n: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.connected().length >= n) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const check = () => {
        if (this.connected().length >= n) settle(resolve);
      };
      const onAbort = () => settle(() => reject(signal!.reason));
      const timer = setTimeout(
        () => settle(() => reject(new StarlingError('E_WAIT', `only ${this.connected().length} of ${n} clients connected within ${timeoutMs} ms`))),
        timeoutMs,
      );
      this.waiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  traffic(): Traffic {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  async finish(reason: string, rounds: number): Promise<void> {
    for (const p of this.peers.values()) p.end('the run is complete');
    for (const c of [...this.all]) c.finish(reason, rounds);
  }

  /** Stops accepting, closes every connection and the HTTP server. */
  async close(): Promise<void> {
    // no task waits for a client to come back to a coordinator that is going away (a stopped run's round is abandoned)
    for (const p of this.peers.values()) p.end('the coordinator is shutting down');
    for (const socket of this.wss.clients) socket.close(CloseCode.goingAway, 'coordinator shutting down');
    // peers get a moment to answer the close; a silent one is cut off rather than waited for (ws waits 30 s)
    const cutoff = setTimeout(() => {
      for (const socket of this.wss.clients) socket.terminate();
    }, 1000);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    clearTimeout(cutoff);
    this.gate.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private onConnection(socket: WebSocket, raw: Socket): void {
    const id = `c${this.nextId++}`;
    const log = this.opts.log;
    log.debug({ id, remote: raw.remoteAddress }, 'connection opened');
    const conn = new ClientConnection({
      id,
      runId: this.opts.runId,
      socket,
      rawSocket: raw,
      security: this.opts.security,
      maxPayloadBytes: this.opts.maxPayloadBytes,
      budget: this.budget,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
      frameTimeoutMs: this.opts.frameTimeoutMs,
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      log,
      onReady: (c) => {
        // without the secure channel, the hello is as authenticated as it gets
        this.gate.authenticated(raw);
        this.join(c);
        for (const w of [...this.waiters]) w();
      },
      onAuthenticated: (c) => {
        this.gate.authenticated(raw);
        const previous = this.sessions.get(c.peerKey!);
        this.sessions.set(c.peerKey!, c);
        if (previous && previous !== c) {
          log.warn(
            { key: c.peerKey, old: previous.id, new: c.id },
            `identity ${c.peerKey} connected again as ${c.id}; closing its older session ${previous.id}`,
          );
          previous.replace();
        }
      },
      onClosed: (c) => {
        this.all.delete(c);
        if (c.peerKey && this.sessions.get(c.peerKey) === c) this.sessions.delete(c.peerKey);
        const peer = this.peerOf.get(c);
        this.peerOf.delete(c);
        peer?.detach(c, c.closedBecause ?? `client ${c.name} (${c.id}) disconnected`);
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

  /**
   * A session said hello: it becomes its identity's current session — the peer's, created on
   * the identity's first session (its id is that session's). The secure channel replaced an
   * older session of the key as soon as the new one authenticated; without it the name is the
   * identity, and an older live session of the same name is replaced here. A task the older
   * session left unanswered goes to this one.
   */
  private join(c: ClientConnection): void {
    const identity = c.peerKey !== undefined ? `key:${c.peerKey}` : `name:${c.name}`;
    let peer = this.peers.get(identity);
    if (!peer) {
      peer = new ClientPeer({
        id: c.id,
        name: c.name,
        identity,
        log: this.opts.log,
        onIdle: (p) => {
          if (this.peers.get(p.identity) === p) this.peers.delete(p.identity);
        },
      });
      this.peers.set(identity, peer);
    }
    const previous = peer.session;
    this.peerOf.set(c, peer);
    peer.attach(c);
    if (previous && previous !== c) {
      this.opts.log.warn(
        { name: c.name, old: previous.id, new: c.id },
        `client ${c.name} connected again as ${c.id}; closing its older session ${previous.id}`,
      );
      previous.replace();
    }
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/health') return reply(200, { ok: true });
    if (req.method === 'GET' && req.url === '/status') {
      // it names the connected clients: served only when the operator asked for it
      if (!this.opts.statusEndpoint)
        return reply(404, { error: 'GET /status is off; start the coordinator with --status-endpoint (statusEndpoint: true) to serve it' });
      return reply(200, { runId: this.opts.runId, clients: this.connected().map((c) => ({ id: c.id, name: c.name })), ...this.opts.status?.() });
    }
    if (String(req.url).startsWith('/dashboard')) {
      if (!this.opts.dashboard) return reply(404, { error: 'the dashboard is off; start the coordinator with --dashboard (dashboard: true) to serve it' });
      if (dashboardRoute(this.opts.dashboard, req, res, (socket) => this.gate.authenticated(socket))) return;
    }
    // a scraper may ask HEAD, or add a query string
    if ((req.method === 'GET' || req.method === 'HEAD') && String(req.url).split('?')[0] === '/metrics') {
      const { metrics } = this.opts;
      if (!metrics) return reply(404, { error: 'GET /metrics is off; start the coordinator with --metrics-endpoint (metricsEndpoint: true) to serve it' });
      metrics.render().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => reply(500, { error: `metrics: ${errorMessage(err)}` }),
      );
      return;
    }
    reply(404, { error: `no route for ${req.method} ${String(req.url).slice(0, 200)}` });
  }

  /** WebSocket connections open (authenticated or not), and clients ready for tasks: what GET /metrics reports. */
  sessionCounts(): { open: number; ready: number } {
    return { open: this.all.size, ready: this.connected().length };
  }
}
