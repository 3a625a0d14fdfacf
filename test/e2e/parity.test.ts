import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig } from './helpers.ts';

/**
 * Learning parity with Flower on the reference workload of bench/round-bench.ts (MLP 784-128-10,
 * 1 local epoch, batch 32, SGD lr 0.05, IID, every client every round, test on
 * the 2,000 held-out digits). Flower reached 0.865 (10 clients, round 10) and
 * 0.931 (2 clients, round 30).
 */
describe('learning parity with Flower', () => {
  it('10 clients reach ≥ 0.855 after 10 rounds', async () => {
    const r = await simulate(testConfig({ clients: 10, rounds: 10 }), { log: silentLogger, writeHistory: false });
    expect(r.history.rounds.at(-1)!.accuracy!).toBeGreaterThanOrEqual(0.855);
  });

  it('2 clients reach ≥ 0.92 after 30 rounds', async () => {
    const r = await simulate(testConfig({ clients: 2, rounds: 30 }), { log: silentLogger, writeHistory: false });
    expect(r.history.rounds.at(-1)!.accuracy!).toBeGreaterThanOrEqual(0.92);
  });
});
