import { describe, expect, it } from 'vitest';
import type { Trainer } from '../../client/trainer.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig } from '../e2e/helpers.ts';

describe('simulate', () => {
  it('is deterministic: the same seed gives byte-identical final weights, another seed does not', async () => {
    const config = testConfig({ clients: 4, rounds: 2, partition: 'dirichlet:0.5', seed: 7 });
    const a = await simulate(config, { log: silentLogger, writeHistory: false, workers: 2 });
    const b = await simulate(config, { log: silentLogger, writeHistory: false, workers: 1 });
    const c = await simulate({ ...config, seed: 8 }, { log: silentLogger, writeHistory: false, workers: 2 });
    expect(Buffer.from(a.weights.buffer).equals(Buffer.from(b.weights.buffer))).toBe(true);
    expect(a.history.finalWeightsSha256).toBe(b.history.finalWeightsSha256);
    expect(a.history.rounds.map((r) => r.accuracy)).toEqual(b.history.rounds.map((r) => r.accuracy));
    expect(c.history.finalWeightsSha256).not.toBe(a.history.finalWeightsSha256);
    expect(a.agents.every((s) => s.status === 'fulfilled')).toBe(true);
  });

  it('a client that sends NaN is closed with the reason; the others finish the run', async () => {
    const log = memoryLogger();
    const config = testConfig({ clients: 3, rounds: 2 });
    const poisoned = (fallback: Trainer): Trainer => ({
      async fit(spec, weights, cfg, seed) {
        const r = await fallback.fit(spec, weights, cfg, seed);
        r.delta[5] = Number.NaN;
        return r;
      },
    });
    const result = await simulate(config, { log, writeHistory: false, trainerFor: (i, t) => (i === 1 ? poisoned(t) : t) });
    expect(result.history.rounds).toHaveLength(2);
    expect(result.history.rounds[0]).toMatchObject({ clients: 2, failures: 1 });
    expect(result.history.rounds[1]).toMatchObject({ clients: 2, failures: 0 });
    expect(result.agents[1]!.status).toBe('rejected');
    expect(log.entries.some((e) => /delta contains NaN or Infinity/.test(e.msg ?? ''))).toBe(true);
  });
});
