import { describe, expect, it } from 'vitest';
import { ClientAgent, type AgentOptions } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { TfjsEngine } from '../../shared/engine/tfjs-engine.ts';
import { CloseCode } from '../../shared/errors.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import { RawPeer, SecurePeer, testConfig, testKeys } from './helpers.ts';

const engine = await TfjsEngine.create();

async function honestAgent(url: string, k: number, security?: AgentOptions['security']) {
  const data = await openDataSource({ data: { kind: 'mnist' }, shard: `${k}/10`, partition: { kind: 'iid' }, seed: 42 });
  return new ClientAgent({ url, name: `honest-${k}`, trainer: new EngineTrainer(engine, data), log: silentLogger, security }).run();
}

function logged(log: ReturnType<typeof memoryLogger>): string {
  return log.entries.map((e) => e.msg ?? '').join('\n');
}

/**
 * The message layer under hostile and failing peers. The garbage-frame test runs in
 * --insecure mode (a supported debugging mode) so raw peers can speak plaintext messages;
 * test/e2e/secure-faults.test.ts covers the same and more on the sealed channel.
 */
describe('the coordinator survives hostile and failing peers', () => {
  it('closes each garbage connection with a precise reason and finishes the run for the honest clients', async () => {
    const log = memoryLogger();
    // the silent peer is cut at this deadline; it leaves the others, which act as soon as they are open, room on a loaded machine
    const config = testConfig({ clients: 2, rounds: 2, handshakeTimeoutMs: 2000, maxPayloadBytes: 1 << 20, insecure: true });
    const rounds: RoundRecord[] = [];
    const coordinator = await startCoordinator(config, { log, engine, writeHistory: false, onRound: (r) => rounds.push(r) });
    try {
      const hostile: [string, (p: RawPeer) => void, number][] = [
        ['random bytes', (p) => p.send(Uint8Array.of(0x82, 0xa1, 0xff, 0x00)), CloseCode.malformed],
        ['text frame', (p) => p.send('{"type":"hello"}'), CloseCode.malformed],
        ['unknown type', (p) => p.sendMessage({ type: 'nonsense' } as never), CloseCode.invalid],
        ['wrong version', (p) => p.sendMessage({ type: 'hello', protocolVersion: 99, clientName: 'old' }), CloseCode.versionMismatch],
        [
          'result before hello',
          (p) => p.sendMessage({ type: 'fitResult', round: 1, numExamples: 1, delta: new Float32Array(1), metrics: {}, seconds: 0 }),
          CloseCode.unexpected,
        ],
        ['oversized frame', (p) => p.send(new Uint8Array((1 << 20) + 100)), CloseCode.tooBig],
        ['silence', () => {}, CloseCode.timeout],
      ];
      const peers = hostile.map(([, act]) => {
        const p = new RawPeer(coordinator.url);
        void p.opened.then(() => act(p));
        return p;
      });
      const closes = await Promise.all(peers.map((p) => p.closed));
      expect(closes.map((c) => c.code)).toEqual(hostile.map(([, , code]) => code));

      // a peer that joins properly and then sends garbage mid-run
      const midRun = new RawPeer(coordinator.url);
      await midRun.opened;
      const agents = Promise.all([honestAgent(coordinator.url, 1), honestAgent(coordinator.url, 2)]);
      midRun.sendMessage({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'zz-garbage' });
      await midRun.nextFrame(); // welcome
      midRun.send(Uint8Array.of(1, 2, 3, 4, 5));
      expect((await midRun.closed).code).toBe(CloseCode.malformed);

      await agents;
      const result = await coordinator.done;
      expect(result.history.rounds).toHaveLength(2);
      expect(rounds.every((r) => r.accuracy !== null && r.accuracy > 0.3)).toBe(true);
      const text = logged(log);
      expect(text).toMatch(/malformed frame: a map claims 2 entries but only 3 bytes follow/);
      expect(text).toMatch(/text frame/);
      expect(text).toMatch(/invalid message: "nonsense"/);
      expect(text).toMatch(/protocol version 99 is not supported/);
      expect(text).toMatch(/unexpected message: fitResult before the handshake/);
      expect(text).toMatch(/hello did not arrive within 2000 ms/);
      expect(text).toMatch(/a frame larger than the 36888-byte limit while awaiting its hello/);
    } finally {
      await coordinator.close();
    }
  });

  it('a client that disconnects mid-round and does not come back is dropped at the deadline; the round completes with the others (secure channel)', async () => {
    const log = memoryLogger();
    const keys = testKeys(3);
    // the round waits until its deadline for the client to reconnect (test/e2e/reconnect.test.ts): a short one
    const config = testConfig({ clients: 3, rounds: 2, roundTimeoutMs: 5000 });
    const rounds: RoundRecord[] = [];
    const coordinator = await startCoordinator(config, { log, engine, writeHistory: false, onRound: (r) => rounds.push(r), security: keys.coordinator });
    try {
      const quitter = new SecurePeer(coordinator.url, keys.ids[2]!, keys.coordinator.identity.publicKey);
      await quitter.connect();
      quitter.sendSealed({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'quitter' });
      const agents = Promise.all([honestAgent(coordinator.url, 1, keys.client(0)), honestAgent(coordinator.url, 2, keys.client(1))]);
      await quitter.nextMessage(); // welcome
      expect((await quitter.nextMessage()).type).toBe('fit');
      quitter.socket.terminate(); // vanish mid-round

      const outcomes = await agents;
      const result = await coordinator.done;
      expect(outcomes.map((o) => o.rounds)).toEqual([2, 2]);
      expect(rounds[0]).toMatchObject({ round: 1, clients: 2, failures: 1 });
      expect(rounds[1]).toMatchObject({ round: 2, clients: 2, failures: 0 });
      expect(result.history.rounds).toHaveLength(2);
      expect(logged(log)).toMatch(/quitter \(c\d+\) disconnected \(code 1006\); it did not return before the round 1 deadline/);
    } finally {
      await coordinator.close();
    }
  });

  it('a round closes at its deadline with the clients that answered (quorum met); a late result is dropped, not an error', async () => {
    const log = memoryLogger();
    const keys = testKeys(3);
    const config = testConfig({ clients: 3, rounds: 2, roundTimeoutMs: 1500, minFitClients: 2 });
    const rounds: RoundRecord[] = [];
    const coordinator = await startCoordinator(config, { log, engine, writeHistory: false, onRound: (r) => rounds.push(r), security: keys.coordinator });
    try {
      const slow = new SecurePeer(coordinator.url, keys.ids[2]!, keys.coordinator.identity.publicKey);
      await slow.connect();
      slow.sendSealed({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'slowpoke' });
      const agents = Promise.all([honestAgent(coordinator.url, 1, keys.client(0)), honestAgent(coordinator.url, 2, keys.client(1))]);
      await slow.nextMessage(); // welcome
      const task = await slow.nextMessage();
      if (task.type !== 'fit') throw new Error('expected a fit task');
      // answer only after the deadline has passed
      await new Promise((r) => setTimeout(r, 2000));
      slow.sendSealed({ type: 'fitResult', round: task.round, numExamples: 5, delta: new Float32Array(task.weights!.length), metrics: {}, seconds: 2 });
      await agents;
      await coordinator.done;
      expect(rounds[0]).toMatchObject({ round: 1, clients: 2, failures: 1 });
      expect(rounds[0]!.seconds).toBeGreaterThan(1.4);
      expect(logged(log)).toMatch(/slowpoke \(c\d+\) missed the round 1 deadline/);
      expect(logged(log)).toMatch(/dropped late result for round 1 from slowpoke/);
    } finally {
      await coordinator.close();
    }
  });
});
