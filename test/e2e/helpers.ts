import { WebSocket, type ClientOptions } from 'ws';
import type { Trainer } from '../../client/trainer.ts';
import { resolveRunConfig, type RunConfig, type RunConfigInput } from '../../shared/config.ts';
import { decodeMessage, encodeMessage } from '../../shared/protocol/codec.ts';
import { fromFrame, toFrame } from '../../shared/protocol/frame.ts';
import { toClientHandshakeSchema, type ClientAuth, type ClientHello } from '../../shared/protocol/handshake-messages.ts';
import { ClientHandshake } from '../../shared/crypto/handshake.ts';
import type { SessionSealer } from '../../shared/crypto/session-sealer.ts';
import type { Identity } from '../../shared/crypto/primitives.ts';
import { toClientSchema, type ToClient, type ToCoordinator } from '../../shared/protocol/messages.ts';
import { makeSimulationKeys } from '../../simulations/keys.ts';

/** A run config for tests: loopback, ephemeral port, nothing written, short timeouts. */
export function testConfig(over: Partial<RunConfigInput> = {}): RunConfig {
  return resolveRunConfig('test', { port: 0, roundTimeoutMs: 60_000, waitForClientsTimeoutMs: 30_000, handshakeTimeoutMs: 5_000, ...over });
}

/** A raw WebSocket peer for hostile-input tests: sends what it is told and records how it was closed. */
export class RawPeer {
  readonly socket: WebSocket;
  readonly received: Buffer[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(url: string, options?: ClientOptions) {
    this.socket = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    // a peer refused at TCP accept never opens: only a test that awaits `opened` hears of it
    this.opened.catch(() => {});
    this.socket.on('message', (d) => this.received.push(d as Buffer));
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(bytes: Uint8Array | string): void {
    this.socket.send(bytes, { binary: typeof bytes !== 'string' });
  }

  sendMessage(msg: ToCoordinator): void {
    this.send(encodeMessage(msg));
  }

  /** Resolves with the next frame received (or one already waiting). */
  async nextFrame(timeoutMs = 10_000): Promise<Buffer> {
    const start = Date.now();
    while (this.received.length === 0) {
      if (Date.now() - start > timeoutMs) throw new Error('no frame arrived');
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.received.shift()!;
  }
}

/**
 * Identities for a secure test run, made as a deployment makes them: key files (0600) and
 * an allowlist in a temporary folder, read back through the CLI's loaders. The folder is
 * removed at once: everything a test needs is already read into memory.
 */
export function testKeys(clients: number) {
  const keys = makeSimulationKeys(clients, (i) => `client-${i}`);
  keys.dispose();
  return {
    coordinator: keys.coordinator,
    client: (i: number) => ({ identity: keys.clients[i]!, coordinatorKey: keys.coordinator.identity.publicKey }),
    ids: keys.clients,
  };
}

/**
 * A peer that performs the real handshake and then does what a test tells it:
 * send sealed messages, raw bytes, replays, or frames sealed with a rewound counter.
 */
export class SecurePeer extends RawPeer {
  sealer: SessionSealer | undefined;
  private readonly hs: ClientHandshake;

  constructor(url: string, identity: Identity, coordinatorKey: Uint8Array, options?: ClientOptions) {
    super(url, options);
    this.hs = new ClientHandshake(identity, coordinatorKey);
  }

  /** Runs the handshake to the sealed session (or returns the refusal's close). */
  async connect(mutate?: { hello?: (h: ClientHello) => ClientHello; auth?: (a: ClientAuth) => ClientAuth }): Promise<void> {
    await this.opened;
    const hello = this.hs.start();
    this.send(encodeMessage(mutate?.hello ? mutate.hello(hello) : hello));
    const reply = decodeMessage(await this.nextFrame(), toClientHandshakeSchema, 1 << 20);
    if (reply.type !== 'serverHello') throw new Error(`handshake refused: ${reply.message}`);
    const { auth, sealer } = this.hs.onServerHello(reply);
    this.send(encodeMessage(mutate?.auth ? mutate.auth(auth) : auth));
    this.sealer = sealer;
  }

  seal(msg: ToCoordinator): Uint8Array {
    return toFrame(msg, this.sealer!);
  }

  sendSealed(msg: ToCoordinator): Uint8Array {
    const frame = this.seal(msg);
    this.send(frame);
    return frame;
  }

  /** A copy of the sealer with its counters as they are now: sealing with it later reuses old counters. */
  snapshotSealer(): SessionSealer {
    return Object.assign(Object.create(Object.getPrototypeOf(this.sealer!)), this.sealer!) as SessionSealer;
  }

  async nextMessage(): Promise<ToClient> {
    return fromFrame(await this.nextFrame(30_000), toClientSchema, this.sealer!, 1 << 30);
  }
}

/** A promise and the function that settles it (a test holds a run at a point, or waits for one). */
export function deferred<T = void>(): { readonly promise: Promise<T>; readonly resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A client that trains nothing: a small fixed delta over 10 examples, at once. */
export const fixedDelta: Trainer = {
  evaluate: () => Promise.reject(new Error('no evaluation')),
  fit: async (_spec, weights) => ({ delta: new Float32Array(weights.length).fill(1e-4), numExamples: 10, metrics: { loss: 1, accuracy: 0.5, epochs: 1 } }),
};

/** `t`, except that from its second task on it waits for `gate` (the test looks at the run after round 1). */
export function heldFromSecondTask(t: Trainer, gate: Promise<void>): Trainer {
  let tasks = 0;
  return {
    evaluate: (spec, weights) => t.evaluate(spec, weights),
    async fit(spec, weights, config, seed) {
      if (++tasks > 1) await gate;
      return t.fit(spec, weights, config, seed);
    },
  };
}
