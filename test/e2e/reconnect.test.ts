import { type Server, type Socket, connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer, type Trainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { sha256 } from '../../coordinator/history.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import type { RunConfigInput } from '../../shared/config.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import { RawPeer, SecurePeer, testConfig, testKeys } from './helpers.ts';

/**
 * Clients that lose their connection mid-round come back and are given the round's task again;
 * heartbeats find peers that went silent. Real coordinators and agents over loopback.
 */
const engine = SimdEngine.create();
const keys = testKeys(3);
const ROUNDS = 2;

/** A loopback TCP relay in front of the coordinator whose connections a test can cut, as a network failure would. */
async function relay(target: number): Promise<{ port: number; cut(): number }> {
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(target, '127.0.0.1');
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    for (const s of pair) {
      s.on('error', () => {});
      s.on('close', () => {
        pairs.delete(pair);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onTestFinished(async () => {
    for (const p of pairs) for (const s of p) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    // both directions reset at once: the coordinator and the client each see their connection drop
    cut: () => {
      const n = pairs.size;
      for (const p of pairs) for (const s of p) s.resetAndDestroy();
      return n;
    },
  };
}

async function mnistTrainer(k: number): Promise<Trainer> {
  const data = await openDataSource({ data: { kind: 'mnist' }, shard: `${k}/10`, partition: { kind: 'iid' }, seed: 42 });
  return new EngineTrainer(engine, data);
}

/**
 * A run of two agents, `site-1` behind a relay. With `cut`, the relay's connections are cut as
 * site-1 starts training round 1 — its task outstanding, its answer not yet sent.
 */
/** Client k (1-based) of the run's keys: a plain agent training on its MNIST shard, until the run ends. */
async function honestAgent(url: string, k: number) {
  return new ClientAgent({ url, name: `site-${k}`, trainer: await mnistTrainer(k), log: silentLogger, security: keys.client(k - 1) }).run();
}

async function run(opts: { cut: boolean; insecure?: boolean; over?: Partial<RunConfigInput> }) {
  const log = memoryLogger();
  const clientLog = memoryLogger();
  const rounds: RoundRecord[] = [];
  const config = testConfig({ clients: 2, rounds: ROUNDS, insecure: opts.insecure ?? false, ...opts.over });
  const coordinator = await startCoordinator(config, {
    log,
    engine,
    writeHistory: false,
    onRound: (r) => rounds.push(r),
    ...(opts.insecure ? {} : { security: keys.coordinator }),
  });
  try {
    const front = await relay(coordinator.port);
    let cuts = 0;
    const base = await mnistTrainer(1);
    const victim: Trainer = {
      evaluate: (spec, w) => base.evaluate(spec, w),
      fit: (spec, w, config, seed) => {
        if (opts.cut && cuts === 0) cuts = front.cut();
        return base.fit(spec, w, config, seed);
      },
    };
    const agent = (k: number, trainer: Trainer, url: string) =>
      new ClientAgent({
        url,
        name: `site-${k}`,
        trainer,
        log: k === 1 ? clientLog : silentLogger,
        ...(opts.insecure ? {} : { security: keys.client(k - 1) }),
        reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
      }).run();
    const outcomes = await Promise.all([agent(1, victim, `ws://127.0.0.1:${front.port}`), agent(2, await mnistTrainer(2), coordinator.url)]);
    const result = await coordinator.done;
    return { outcomes, rounds, hash: sha256(result.weights), text: log.entries.map((e) => e.msg ?? '').join('\n'), cuts, clientLog };
  } finally {
    await coordinator.close();
  }
}

describe('a client whose connection is lost mid-round', () => {
  for (const insecure of [false, true]) {
    const identity = insecure ? 'insecure: the name is the identity' : 'secure channel: the key is the identity';
    it(`reconnects, is given the round's task again and answers it: no failure, the weights of the run without the cut (${identity})`, async () => {
      const uncut = await run({ cut: false, insecure });
      const cut = await run({ cut: true, insecure });
      expect(cut.cuts).toBe(1);
      expect(cut.rounds.map((r) => [r.clients, r.failures])).toEqual([
        [2, 0],
        [2, 0],
      ]);
      expect(cut.outcomes.map((o) => o.rounds)).toEqual([ROUNDS, ROUNDS]);
      expect(cut.text).toMatch(
        /client site-1 \(c\d+\) disconnected \(code 1006\) with the round 1 task outstanding; it is sent again if the client reconnects/,
      );
      expect(cut.clientLog.entries.some((e) => /connecting again in/.test(e.msg ?? ''))).toBe(true);
      // it trained once: the re-sent task was answered with the result its lost session could not deliver
      expect(cut.clientLog.entries.some((e) => /round 1: the task came again after a lost connection/.test(e.msg ?? ''))).toBe(true);
      expect(cut.hash).toBe(uncut.hash);
    });
  }

  it('one that does not come back fails the round at its deadline, saying it disconnected and did not return', async () => {
    const log = memoryLogger();
    const rounds: RoundRecord[] = [];
    const config = testConfig({ clients: 3, rounds: ROUNDS, roundTimeoutMs: 3000, minFitClients: 2 });
    const coordinator = await startCoordinator(config, { log, engine, writeHistory: false, onRound: (r) => rounds.push(r), security: keys.coordinator });
    try {
      const quitter = new SecurePeer(coordinator.url, keys.ids[2]!, keys.coordinator.identity.publicKey);
      await quitter.connect();
      quitter.sendSealed({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'quitter' });
      const agents = Promise.all([honestAgent(coordinator.url, 1), honestAgent(coordinator.url, 2)]);
      await quitter.nextMessage(); // welcome
      expect((await quitter.nextMessage()).type).toBe('fit');
      quitter.socket.terminate();
      await agents;
      await coordinator.done;
      expect(rounds.map((r) => [r.clients, r.failures])).toEqual([
        [2, 1],
        [2, 0],
      ]);
      expect(log.entries.map((e) => e.msg ?? '').join('\n')).toMatch(
        /round 1: client quitter \(c\d+\) disconnected \(code 1006\); it did not return before the round 1 deadline/,
      );
    } finally {
      await coordinator.close();
    }
  });
});

describe('one session per identity without the secure channel', () => {
  it('the name is the identity: a second session under the same name replaces the first (4410)', async () => {
    const log = memoryLogger();
    const coordinator = await startCoordinator(testConfig({ clients: 2, rounds: 1, insecure: true }), { log, engine, writeHistory: false });
    try {
      const hello = async () => {
        const p = new RawPeer(coordinator.url);
        await p.opened;
        p.sendMessage({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'twin' });
        await p.nextFrame(); // welcome
        return p;
      };
      const first = await hello();
      const second = await hello();
      expect((await first.closed).code).toBe(4410);
      expect(second.socket.readyState).toBe(second.socket.OPEN);
      expect(log.entries.map((e) => e.msg ?? '').join('\n')).toMatch(/client twin connected again as c\d+; closing its older session c\d+/);
      second.socket.terminate();
    } finally {
      coordinator.stop();
      await coordinator.done;
      await coordinator.close();
    }
  });
});

describe('heartbeats', () => {
  it('a client that stops answering pings is cut off, and its round records it as a failure; the run goes on without it', async () => {
    const log = memoryLogger();
    const rounds: RoundRecord[] = [];
    const config = testConfig({ clients: 3, rounds: ROUNDS, roundTimeoutMs: 3000, minFitClients: 2, heartbeatIntervalMs: 100 });
    const coordinator = await startCoordinator(config, { log, engine, writeHistory: false, onRound: (r) => rounds.push(r), security: keys.coordinator });
    try {
      // it answers pings itself, until it has its task: then it falls silent, as a peer whose network went away
      const silent = new SecurePeer(coordinator.url, keys.ids[2]!, keys.coordinator.identity.publicKey, { autoPong: false });
      let deaf = false;
      silent.socket.on('ping', (data) => deaf || silent.socket.pong(data));
      await silent.connect();
      silent.sendSealed({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'silent' });
      const agents = Promise.all([honestAgent(coordinator.url, 1), honestAgent(coordinator.url, 2)]);
      await silent.nextMessage(); // welcome
      expect((await silent.nextMessage()).type).toBe('fit');
      deaf = true;
      // busy with its task it is not judged (a training client cannot answer pings); at the task's deadline it is, and is
      // cut off (no close handshake with a dead peer)
      expect((await silent.closed).code).toBe(1006);
      const outcomes = await agents;
      await coordinator.done;
      expect(outcomes.map((o) => o.rounds)).toEqual([ROUNDS, ROUNDS]);
      expect(rounds.map((r) => [r.clients, r.failures])).toEqual([
        [2, 1],
        [2, 0],
      ]);
      const text = log.entries.map((e) => e.msg ?? '').join('\n');
      expect(text).toMatch(/closing connection silent \(c\d+\): no heartbeat for \d+\.\d s/);
      expect(text).toMatch(/round 1: client silent \(c\d+\) missed the round 1 deadline/);
    } finally {
      await coordinator.close();
    }
  });

  // (an agent whose coordinator falls silent: test/client/agent.test.ts, against a coordinator that never pongs)
  it('heartbeats change nothing a run computes: off (0) or every 50 ms, the weights are the same and nobody is cut off', async () => {
    const off = await run({ cut: false, over: { heartbeatIntervalMs: 0 } });
    const often = await run({ cut: false, over: { heartbeatIntervalMs: 50 } });
    for (const r of [off, often]) expect(r.rounds.map((x) => x.failures)).toEqual([0, 0]);
    expect(often.text).not.toMatch(/no heartbeat/);
    expect(often.hash).toBe(off.hash);
  });
});

describe('a result sent twice', () => {
  /** A run with a small model (its results fit a control-sized frame) of one agent and a raw client that sends its round-1 result `copies` times. */
  async function twice(copies: number) {
    const log = memoryLogger();
    const rounds: RoundRecord[] = [];
    const config = testConfig({ clients: 2, rounds: ROUNDS, model: { type: 'mlp', inputs: 784, hidden: [], outputs: 10 } });
    const coordinator = await startCoordinator(config, { log, engine, writeHistory: false, onRound: (r) => rounds.push(r), security: keys.coordinator });
    try {
      const raw = new SecurePeer(coordinator.url, keys.ids[2]!, keys.coordinator.identity.publicKey);
      await raw.connect();
      raw.sendSealed({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'raw' });
      await raw.nextMessage(); // welcome
      const agent = mnistTrainer(1).then((trainer) =>
        new ClientAgent({ url: coordinator.url, name: 'site-1', trainer, log: silentLogger, security: keys.client(0) }).run(),
      );
      for (let round = 1; round <= ROUNDS; round++) {
        const task = await raw.nextMessage();
        if (task.type !== 'fit') throw new Error(`expected a fit task, got ${task.type}`);
        const result = { type: 'fitResult' as const, round, numExamples: 100, delta: new Float32Array(7850).fill(0.001), metrics: {}, seconds: 0 };
        for (let i = 0; i < (round === 1 ? copies : 1); i++) raw.sendSealed(result);
      }
      await agent;
      const done = await raw.nextMessage();
      const result = await coordinator.done;
      return { rounds, hash: sha256(result.weights), done: done.type, text: log.entries.map((e) => e.msg ?? '').join('\n') };
    } finally {
      await coordinator.close();
    }
  }

  it('is counted once: the repeat is dropped and logged, the connection stays, and the model is that of the result sent once', async () => {
    const once = await twice(1);
    const repeated = await twice(2);
    expect(repeated.rounds.map((r) => [r.clients, r.failures])).toEqual([
      [2, 0],
      [2, 0],
    ]);
    expect(repeated.text).toMatch(/dropped a repeated result for round 1 from raw \(c\d+\): that task was already answered or given up on/);
    expect(repeated.done).toBe('done');
    expect(repeated.hash).toBe(once.hash);
  });
});
