import { describe, expect, it } from 'vitest';
import type { Trainer } from '../../client/trainer.ts';
import { memoryLogger } from '../../shared/log.ts';
import { initWeights } from '../../shared/models/registry.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig } from './helpers.ts';

/** A client whose training always fails (it crashes mid-round). */
const failing = (): Trainer => ({
  evaluate: () => Promise.reject(new Error('no evaluation')),
  fit: () => Promise.reject(new Error('training failed: out of memory')),
});

/** A hostile client: trains honestly, then claims 1000 examples and sends a finite delta of 1e30 everywhere. */
const huge = (honest: Trainer): Trainer => ({
  evaluate: (spec, weights) => honest.evaluate(spec, weights),
  async fit(spec, weights, config, seed) {
    const r = await honest.fit(spec, weights, config, seed);
    return { ...r, numExamples: 1000, delta: new Float32Array(r.delta.length).fill(1e30) };
  },
});

/**
 * Issue 13, points 2 and 3 over real loopback sockets (the secure channel, keys in a temporary
 * folder that simulate removes): a round a robust strategy cannot aggregate is skipped instead
 * of ending the run, and maxUpdateNorm keeps a huge finite update out of the model.
 */
describe('a hostile or failing client does not end the run', () => {
  it("krum:f=1 with 5 clients, one failing: each round is skipped with Krum's reason, the run completes and the honest agents resolve", async () => {
    const log = memoryLogger();
    const config = testConfig({ clients: 5, rounds: 3, strategy: 'krum:f=1' });
    const r = await simulate(config, { log, writeHistory: false, workers: 2, trainerFor: (i, t) => (i === 0 ? failing() : t) });
    expect(r.history.rounds).toHaveLength(3);
    expect(r.history.rounds[0]).toMatchObject({
      round: 1,
      clients: 4,
      failures: 1,
      skipped: true,
      skipReason: 'Krum with f = 1 needs more than 2f + 2 = 4 updates, got 4',
    });
    // the failing client is gone (or fails again): every later round has 4 updates too
    expect(r.history.rounds.every((x) => x.skipped === true && x.skipReason === 'Krum with f = 1 needs more than 2f + 2 = 4 updates, got 4')).toBe(true);
    expect(r.agents.slice(1).map((a) => a.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(r.agents.slice(1).map((a) => (a.status === 'fulfilled' ? a.value.rounds : -1))).toEqual([3, 3, 3, 3]);
    // the model never changed
    expect(Buffer.from(r.weights.buffer).equals(Buffer.from(initWeights(config.model, config.seed).buffer))).toBe(true);
    expect(log.entries.some((e) => e.level === 'error' && /round 3 skipped, model unchanged: Krum with f = 1/.test(e.msg ?? ''))).toBe(true);
  });

  it('fedavg with maxUpdateNorm: a client sending a finite 1e30 delta with 1000 examples is dropped each round; the model learns and every agent resolves', async () => {
    const log = memoryLogger();
    const config = testConfig({ clients: 4, rounds: 2, maxUpdateNorm: 1000 });
    const r = await simulate(config, { log, writeHistory: false, workers: 2, trainerFor: (i, t) => (i === 0 ? huge(t) : t) });
    expect(r.history.rounds.map((x) => [x.clients, x.failures, x.skipped ?? false])).toEqual([
      [3, 1, false],
      [3, 1, false],
    ]);
    expect(r.history.rounds[1]!.accuracy!).toBeGreaterThan(0.5);
    expect(r.weights.every((w) => Number.isFinite(w) && Math.abs(w) < 100)).toBe(true);
    expect(r.agents.every((a) => a.status === 'fulfilled')).toBe(true);
    expect(log.entries.some((e) => e.level === 'warn' && /round 1: update norm 3\.19e\+32 exceeds maxUpdateNorm 1000/.test(e.msg ?? ''))).toBe(true);
  });

  it('fedavg without a bound: after a 1e30 update poisons the model, the honest clients report their diverged training as failed tasks and stay; no one is ejected', async () => {
    const log = memoryLogger();
    const config = testConfig({ clients: 4, rounds: 3 });
    const r = await simulate(config, { log, writeHistory: false, workers: 2, trainerFor: (i, t) => (i === 0 ? huge(t) : t) });
    // round 1 takes the huge (finite) update; from round 2 every client's training diverges: nothing to aggregate, the round is skipped
    expect(r.history.rounds.map((x) => [x.clients, x.failures, x.skipped ?? false])).toEqual([
      [4, 0, false],
      [0, 4, true],
      [0, 4, true],
    ]);
    expect(r.history.rounds[1]!.skipReason).toMatch(/only 0 results/);
    const reasons = log.entries.filter((e) => /could not do round 2's training \(E_DIVERGED\)/.test(e.msg ?? ''));
    expect(reasons).toHaveLength(4);
    // nobody was treated as hostile: no protocol close, and every agent ends with the run
    expect(log.entries.some((e) => /closing connection/.test(e.msg ?? ''))).toBe(false);
    expect(r.agents.map((a) => a.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
  });

  it('rejects a maxUpdateNorm that is not > 0, and an unknown action', () => {
    expect(() => testConfig({ maxUpdateNorm: 0 })).toThrow(/maxUpdateNorm/);
    expect(() => testConfig({ maxUpdateNormAction: 'shrink' as never })).toThrow(/maxUpdateNormAction/);
    expect(testConfig({}).strategy.maxUpdateNormAction).toBe('drop');
  });
});
