import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { TfjsEngine } from '../../shared/engine/tfjs-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { testConfig, testKeys } from './helpers.ts';

describe('a federated run over real sockets', () => {
  it('a coordinator and 3 client agents run 2 rounds and the accuracy rises', async () => {
    const config = testConfig({ clients: 3, rounds: 2 });
    const engine = await TfjsEngine.create();
    const rounds: RoundRecord[] = [];
    const keys = testKeys(3);
    const coordinator = await startCoordinator(config, {
      log: silentLogger,
      engine,
      writeHistory: false,
      onRound: (r) => rounds.push(r),
      security: keys.coordinator,
    });
    try {
      expect(coordinator.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      const agents = await Promise.all(
        [1, 2, 3].map(async (k) => {
          const data = await openDataSource({ data: { kind: 'mnist' }, shard: `${k}/10`, partition: { kind: 'iid' }, seed: 42 });
          return new ClientAgent({
            url: coordinator.url,
            name: `agent-${k}`,
            trainer: new EngineTrainer(engine, data),
            log: silentLogger,
            security: keys.client(k - 1),
          }).run();
        }),
      );
      const result = await coordinator.done;
      expect(agents.map((a) => a.rounds)).toEqual([2, 2, 2]);
      expect(rounds.map((r) => r.round)).toEqual([1, 2]);
      expect(rounds.every((r) => r.clients === 3 && r.failures === 0)).toBe(true);
      expect(rounds[1]!.accuracy!).toBeGreaterThan(rounds[0]!.accuracy!);
      expect(rounds[0]!.accuracy!).toBeGreaterThan(0.3);
      // 3 deltas of 101,770 floats in, 3 global models out, plus framing and 24 bytes of sealing each
      expect(rounds[0]!.bytesIn).toBeGreaterThan(3 * 101_770 * 4);
      expect(rounds[0]!.bytesIn).toBeLessThan(3 * 101_770 * 4 + 3000);
      expect(result.history.rounds).toHaveLength(2);
      expect(result.history.finalWeightsSha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await coordinator.close();
    }
  });
});
