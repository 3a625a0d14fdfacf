import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig, testKeys } from './helpers.ts';

/**
 * Issue 21, point 1 over real sockets: a deployed coordinator under central DP draws each
 * round's clients from the OS's CSPRNG, so the same config and seed give different samples
 * and nothing records them; a simulation keeps its seeded (replayable) sample and reports the
 * unamplified ε beside the amplified one.
 */
const engine = SimdEngine.create();
const CLIENTS = 5;
const ROUNDS = 5;
const keys = testKeys(CLIENTS);

/** Runs a deployed-shape coordinator (not simulate) with 5 clients; returns who trained in each round and the history. */
async function deployedRun() {
  const config = testConfig({ clients: CLIENTS, rounds: ROUNDS, fractionFit: 0.4, seed: 42, dp: 'central:z=1,clip=1', evaluate: 'none' });
  const coordinator = await startCoordinator(config, { log: silentLogger, engine, writeHistory: false, security: keys.coordinator });
  const trained: string[][] = Array.from({ length: ROUNDS }, () => []);
  try {
    const agents = Array.from({ length: CLIENTS }, async (_, i) => {
      const data = await openDataSource({ data: { kind: 'mnist' }, shard: `${i + 1}/10`, partition: { kind: 'iid' }, seed: 42 });
      const name = `site-${i}`;
      const onFit = (round: number) => void trained[round - 1]!.push(name);
      return new ClientAgent({
        url: coordinator.url,
        name,
        trainer: new EngineTrainer(engine, data),
        log: silentLogger,
        security: keys.client(i),
        onFit,
      }).run();
    });
    await Promise.all(agents);
    const result = await coordinator.done;
    return { trained: trained.map((t) => t.sort()), history: result.history };
  } finally {
    await coordinator.close();
  }
}

describe('central DP draws its client sample in secret', () => {
  it('a deployed coordinator: the same seed gives different samples, and history.json names none of them', async () => {
    const a = await deployedRun();
    const b = await deployedRun();
    expect(a.trained.every((t) => t.length === 2)).toBe(true);
    // 10 possible pairs a round, 5 rounds: the two runs agree on every round with probability 1e-5
    expect(a.trained).not.toEqual(b.trained);
    expect(a.history.privacy).toMatchObject({ samplingSecret: true, delta: 1e-5 });
    expect(a.history.privacy!.clients).toBeUndefined();
    expect(a.history.rounds.every((r) => r.dpSamplingSecret === true && r.dpSamplingRate === 0.4 && r.epsilonUnamplifiedMax === undefined)).toBe(true);
  });

  it("a simulation keeps the seeded sample and reports every client's unamplified ε beside the amplified one", async () => {
    const r = await simulate(testConfig({ clients: CLIENTS, rounds: 3, fractionFit: 0.4, dp: 'central:z=1,clip=1' }), {
      log: silentLogger,
      writeHistory: false,
      workers: 2,
    });
    const p = r.history.privacy!;
    expect(p.samplingSecret).toBe(false);
    expect(Object.values(p.clients!).reduce((s, c) => s + c.rounds, 0)).toBe(3 * 2);
    expect(p.epsilonUnamplifiedMax!).toBe(Math.max(...Object.values(p.clients!).map((c) => c.epsilon)));
    expect(p.epsilonUnamplifiedMax!).toBeGreaterThan(p.epsilon);
    expect(r.history.rounds.at(-1)!.epsilonUnamplifiedMax).toBe(p.epsilonUnamplifiedMax);
  });
});
