import { withFields } from '../../shared/config.ts';
import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { TfjsEngine } from '../../shared/engine/tfjs-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig, testKeys } from './helpers.ts';

describe('the simd and tfjs engines in whole runs', () => {
  it('give accuracy curves within 0.5 points of each other on the core-round workload', async () => {
    const config = testConfig({ clients: 10, rounds: 10 });
    const a = await simulate(withFields(config, { engine: 'simd' }), { log: silentLogger, writeHistory: false });
    const b = await simulate(withFields(config, { engine: 'tfjs' }), { log: silentLogger, writeHistory: false });
    expect(a.engine).toBe('simd');
    expect(b.engine).toBe('wasm');
    const ca = a.history.rounds.map((r) => r.accuracy!);
    const cb = b.history.rounds.map((r) => r.accuracy!);
    for (const [i, acc] of ca.entries()) expect(Math.abs(acc - cb[i]!), `round ${i + 1}`).toBeLessThanOrEqual(0.005);
    expect(ca.at(-1)!).toBeGreaterThanOrEqual(0.855);
  });

  it('mix in one run: simd and tfjs clients share the flat weight layout', async () => {
    const rounds: RoundRecord[] = [];
    const keys = testKeys(3);
    const coordinator = await startCoordinator(testConfig({ clients: 3, rounds: 2 }), {
      log: silentLogger,
      writeHistory: false,
      onRound: (r) => rounds.push(r),
      security: keys.coordinator,
    });
    try {
      const engines = [SimdEngine.create(), await TfjsEngine.create(), SimdEngine.create()];
      const agents = engines.map(async (engine, i) => {
        const data = await openDataSource({ data: { kind: 'mnist' }, shard: `${i + 1}/10`, partition: { kind: 'iid' }, seed: 42 });
        return new ClientAgent({
          url: coordinator.url,
          name: `mixed-${i}`,
          trainer: new EngineTrainer(engine, data),
          log: silentLogger,
          security: keys.client(i),
        }).run();
      });
      await Promise.all(agents);
      await coordinator.done;
      expect(rounds.map((r) => r.clients)).toEqual([3, 3]);
      expect(rounds[1]!.accuracy!).toBeGreaterThan(rounds[0]!.accuracy!);
    } finally {
      await coordinator.close();
    }
  });
});
