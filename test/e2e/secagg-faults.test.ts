import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { TfjsEngine } from '../../shared/engine/tfjs-engine.ts';
import { CloseCode } from '../../shared/errors.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { decodeMessage } from '../../shared/protocol/codec.ts';
import { PROTOCOL_VERSION, toClientSchema } from '../../shared/protocol/messages.ts';
import { RawPeer, testConfig } from './helpers.ts';

const engine = await TfjsEngine.create();

async function honestAgent(url: string, k: number) {
  const data = await openDataSource({ data: { kind: 'mnist' }, shard: `${k}/10`, partition: { kind: 'iid' }, seed: 42 });
  return new ClientAgent({ url, name: `honest-${k}`, trainer: new EngineTrainer(engine, data), log: silentLogger }).run();
}

describe('secure aggregation under a hostile peer', () => {
  it('a malformed secaggResult closes only that client (4422); the round completes with the others', async () => {
    const log = memoryLogger();
    const config = testConfig({ clients: 4, rounds: 2, insecure: true, secagg: true, evaluate: 'none' });
    const coordinator = await startCoordinator(config, { log, engine, writeHistory: false });
    try {
      const peer = new RawPeer(coordinator.url);
      await peer.opened;
      peer.sendMessage({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'zz-hostile' });
      await peer.nextFrame(); // welcome
      const agents = Promise.all([1, 2, 3].map((k) => honestAgent(coordinator.url, k)));
      const task = decodeMessage(await peer.nextFrame(), toClientSchema, 1 << 30);
      expect(task).toMatchObject({ type: 'secagg', phase: 'advertise', round: 1, clients: 4, threshold: 3 });
      peer.sendMessage({ type: 'secaggResult', phase: 'advertise', round: 1, cPk: new Uint8Array(31), sPk: new Uint8Array(32) });
      expect((await peer.closed).code).toBe(CloseCode.invalid);
      await agents;
      const result = await coordinator.done;
      expect(result.history.rounds.map((r) => [r.clients, r.failures, r.skipped ?? false])).toEqual([
        [3, 1, false],
        [3, 0, false],
      ]);
      expect(log.entries.some((e) => /invalid message: "secaggResult" expected 32 bytes at cPk/.test(e.msg ?? ''))).toBe(true);
    } finally {
      await coordinator.close();
    }
  }, 60_000);
});
