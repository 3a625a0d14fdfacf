import { withFields } from '../../shared/config.ts';
import { describe, expect, it } from 'vitest';
import type { Trainer } from '../../client/trainer.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig } from '../e2e/helpers.ts';

describe('simulate', () => {
  it('is deterministic: the same seed gives byte-identical final weights on either transport, another seed does not', async () => {
    const config = testConfig({ clients: 4, rounds: 2, partition: 'dirichlet:0.5', seed: 7 });
    const a = await simulate(config, { log: silentLogger, writeHistory: false, workers: 2 });
    const b = await simulate(withFields(config, { transport: 'memory' }), { log: silentLogger, writeHistory: false, workers: 1 });
    const c = await simulate(withFields(config, { seed: 8 }), { log: silentLogger, writeHistory: false, workers: 2 });
    expect(Buffer.from(a.weights.buffer).equals(Buffer.from(b.weights.buffer))).toBe(true);
    expect(a.history.finalWeightsSha256).toBe(b.history.finalWeightsSha256);
    expect(a.history.rounds.map((r) => r.accuracy)).toEqual(b.history.rounds.map((r) => r.accuracy));
    expect(c.history.finalWeightsSha256).not.toBe(a.history.finalWeightsSha256);
    expect(a.agents.every((s) => s.status === 'fulfilled')).toBe(true);
  });

  it('a client whose training yields NaN reports a failed task each round and stays; the others finish the run', async () => {
    const log = memoryLogger();
    const config = testConfig({ clients: 3, rounds: 2 });
    const poisoned = (fallback: Trainer): Trainer => ({
      evaluate: (spec, weights) => fallback.evaluate(spec, weights),
      async fit(spec, weights, cfg, seed) {
        const r = await fallback.fit(spec, weights, cfg, seed);
        r.delta[5] = Number.NaN;
        return r;
      },
    });
    const result = await simulate(config, { log, writeHistory: false, trainerFor: (i, t) => (i === 1 ? poisoned(t) : t) });
    expect(result.history.rounds).toHaveLength(2);
    expect(result.history.rounds[0]).toMatchObject({ clients: 2, failures: 1 });
    expect(result.history.rounds[1]).toMatchObject({ clients: 2, failures: 1 });
    // diverged training is a failure of the task, not a hostile peer (a NaN sent over the wire still is: test/e2e/secure-faults)
    expect(result.agents.map((a) => a.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(log.entries.some((e) => /could not do round 2's training \(E_DIVERGED\): training from model version 1 diverged/.test(e.msg ?? ''))).toBe(true);
  });

  it('runs each strategy end to end; fraction C samples the clients each round', async () => {
    for (const strategy of [
      'fedsgd',
      'fedprox:mu=0.1',
      'fedavgm:lr=1,momentum=0.5',
      'fedadam:lr=0.01',
      'fedyogi:lr=0.01',
      'fedadagrad:lr=0.05',
      'fedmedian',
      'trimmedmean:beta=0.2',
      'krum:f=1',
      'multikrum:f=1',
    ]) {
      const r = await simulate(testConfig({ clients: 5, rounds: 2, strategy }), { log: silentLogger, writeHistory: false, workers: 2 });
      expect(r.history.strategy.name, strategy).toBe(strategy.split(':')[0]);
      expect(
        r.history.rounds.every((x) => x.clients === 5),
        strategy,
      ).toBe(true);
      // every strategy learns something in two rounds (FedSGD takes one gradient step per round)
      expect(r.history.rounds[1]!.accuracy!, strategy).toBeGreaterThan(strategy === 'fedsgd' ? 0.1 : 0.3);
    }
    const sampled = await simulate(testConfig({ clients: 10, rounds: 2, fractionFit: 0.3, minFitClients: 2 }), { log: silentLogger, writeHistory: false });
    expect(sampled.history.rounds.map((x) => x.clients)).toEqual([3, 3]);
  });

  it('stragglers run fewer epochs and report it; FedAvg drops them, FedProx keeps them; runs stay reproducible', async () => {
    const cfg = testConfig({ clients: 6, rounds: 2, stragglers: 0.5, train: { epochs: 3, batchSize: 32, optimizer: 'sgd', lr: 0.05 } });
    const avg = await simulate(cfg, { log: silentLogger, writeHistory: false });
    const again = await simulate(cfg, { log: silentLogger, writeHistory: false });
    const prox = await simulate(withFields(cfg, { strategy: 'fedprox:mu=0.1' }), { log: silentLogger, writeHistory: false });
    const partial = avg.history.rounds.reduce((s, r) => s + r.partial, 0);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(12);
    expect(prox.history.rounds.map((r) => r.partial)).toEqual(avg.history.rounds.map((r) => r.partial));
    expect(again.history.finalWeightsSha256).toBe(avg.history.finalWeightsSha256);
    expect(prox.history.finalWeightsSha256).not.toBe(avg.history.finalWeightsSha256);
  });

  it('a learning-rate schedule changes what the clients are told each round', async () => {
    const base = testConfig({ clients: 3, rounds: 2 });
    const constant = await simulate(base, { log: silentLogger, writeHistory: false });
    const decayed = await simulate(withFields(base, { schedule: { type: 'exponential', gamma: 0.5, warmupRounds: 0 } }), {
      log: silentLogger,
      writeHistory: false,
    });
    // round 1 trains at the same rate, round 2 at half of it
    expect(decayed.history.rounds[0]!.accuracy).toBe(constant.history.rounds[0]!.accuracy);
    expect(decayed.history.finalWeightsSha256).not.toBe(constant.history.finalWeightsSha256);
  });

  it('early stopping: after `patience` rounds without a better accuracy the run stops and keeps the best model', async () => {
    const { SimdEngine } = await import('../../shared/engine/simd/simd-engine.ts');
    const { loadMnist } = await import('../../shared/data/mnist.ts');
    // a learning rate far too high: accuracy stops improving almost at once
    const config = testConfig({ clients: 4, rounds: 20, patience: 2, train: { epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 2 } });
    const r = await simulate(config, { log: silentLogger, writeHistory: false });
    const rounds = r.history.rounds;
    expect(rounds.length).toBeLessThan(20);
    const best = r.history.bestRound!;
    expect(rounds.length - best).toBe(2);
    expect(Math.max(...rounds.map((x) => x.accuracy!))).toBe(rounds[best - 1]!.accuracy);
    const kept = await SimdEngine.create().evaluate(config.model, r.weights, { dataset: loadMnist().test });
    expect(kept.accuracy).toBe(rounds[best - 1]!.accuracy);
  });
  it('with a validation split, rounds are scored on validation and the kept model once on test', async () => {
    const r = await simulate(testConfig({ clients: 3, rounds: 2, validation: 0.1 }), { log: silentLogger, writeHistory: false });
    expect(r.history.evaluatedOn).toBe('validation');
    expect(r.history.test!.accuracy).toBeGreaterThan(0.3);
    const plain = await simulate(testConfig({ clients: 3, rounds: 2 }), { log: silentLogger, writeHistory: false });
    expect(plain.history.evaluatedOn).toBe('test');
    expect(plain.history.test).toBeUndefined();
    expect(plain.history.finalWeightsSha256).not.toBe(r.history.finalWeightsSha256);
  });
});
