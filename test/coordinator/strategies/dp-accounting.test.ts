import { describe, expect, it } from 'vitest';
import { runRounds } from '../../../coordinator/round-loop.ts';
import { sampleClients, secretRng } from '../../../coordinator/strategies/sampling.ts';
import type { FitOutcome, StrategyContext } from '../../../coordinator/strategies/strategy.ts';
import { fitConfig } from '../../../shared/protocol/fit-config.ts';
import { memoryLogger } from '../../../shared/log.ts';
import { DEFAULT_MODEL } from '../../../shared/models/spec.ts';
import { RdpAccountant, seededNoiseSource } from '../../../shared/privacy/index.ts';
import { fakeTransport } from '../fake-transport.ts';
import { aggregateFit, withDp } from './round.ts';

/**
 * Issue 21: the ε a run reports must be the ε it spent — charged at the rate each round
 * actually sampled at, amplified only for a secret sample, released and charged independently
 * of un-noised counts, and for local DP under both neighbouring notions.
 */
const train = fitConfig({ epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1 });
const clients = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `c${i}`, name: `c${String(i).padStart(3, '0')}` }));
const update = (name: string): FitOutcome => ({ client: { id: name, name }, numExamples: 5, delta: Float32Array.of(0.1, 0.2, 0.3), metrics: {} });
const epsilonAt = (steps: [number, number][], delta: number) => {
  const a = new RdpAccountant();
  for (const [q, z] of steps) a.step(q, z);
  return a.epsilon(delta).epsilon;
};

describe('the sampling rate a round is charged at', () => {
  it('is the sample over the clients available that round, not the configured C of the configured population', () => {
    // 400 configured, C = 0.01, at least 10 a round: with all 400 connected the rate is 10/400; with 100, 10/100; with 50, 10/50
    const ctx: StrategyContext = { clients: 400, sampling: { fraction: 0.01, min: 10, seed: 1 } };
    const { strategy, privacy } = withDp('fedavg', ctx, 'central:z=1,clip=1', { delta: 1e-5, source: seededNoiseSource(1, 't'), samplingSecret: true });
    const rates: number[] = [];
    [400, 100, 50].forEach((available, i) => {
      const asked = strategy.configureFit(i + 1, clients(available), train);
      expect(asked).toHaveLength(10);
      aggregateFit(
        strategy,
        Float32Array.of(0, 0, 0),
        asked.map((a) => update(a.client.name)),
        { round: i + 1 },
      );
      rates.push(privacy!.report().samplingRate);
    });
    expect(rates).toEqual([10 / 400, 10 / 100, 10 / 50]);
    expect(privacy!.report().epsilon).toBe(
      epsilonAt(
        [
          [0.025, 1],
          [0.1, 1],
          [0.2, 1],
        ],
        1e-5,
      ),
    );
  });
});

describe('a secret sample', () => {
  it('secretRng draws a different sample each time from the same seed; the seeded stream replays', () => {
    const all = clients(400);
    const seeded = { fraction: 0.2, min: 1, seed: 42 };
    expect(sampleClients(all, 3, seeded)).toEqual(sampleClients(all, 3, seeded));
    const a = sampleClients(all, 3, { ...seeded, random: secretRng }).map((c) => c.name);
    const b = sampleClients(all, 3, { ...seeded, random: secretRng }).map((c) => c.name);
    expect(a).toHaveLength(80);
    expect(a).not.toEqual(b);
  });

  it("with a replayable sample the report adds each client's unamplified ε over the rounds its update was in", () => {
    const ctx: StrategyContext = { clients: 10, sampling: { fraction: 0.5, min: 1, seed: 7 } };
    const { strategy, privacy } = withDp('fedavg', ctx, 'central:z=2,clip=1', { delta: 1e-5, source: seededNoiseSource(1, 't'), samplingSecret: false });
    const joined = new Map<string, number>();
    for (let round = 1; round <= 6; round++) {
      const asked = strategy.configureFit(round, clients(10), train);
      for (const a of asked) joined.set(a.client.name, (joined.get(a.client.name) ?? 0) + 1);
      aggregateFit(
        strategy,
        Float32Array.of(0, 0, 0),
        asked.map((a) => update(a.client.name)),
        { round },
      );
    }
    const most = Math.max(...joined.values());
    const p = privacy!.report();
    expect(p.samplingSecret).toBe(false);
    expect(p.epsilonUnamplifiedMax).toBe(
      epsilonAt(
        Array.from({ length: most }, () => [1, 2] as [number, number]),
        1e-5,
      ),
    );
    expect(p.epsilonUnamplifiedMax!).toBeGreaterThan(p.epsilon);
    const perClient = privacy!.byClient()!;
    for (const [name, rounds] of joined)
      expect(perClient[name]).toEqual({
        rounds,
        epsilon: epsilonAt(
          Array.from({ length: rounds }, () => [1, 2] as [number, number]),
          1e-5,
        ),
      });
    // a secret sample reports neither: naming who trained would undo the secret
    const secret = withDp('fedavg', ctx, 'central:z=2,clip=1', { delta: 1e-5, source: seededNoiseSource(1, 't'), samplingSecret: true });
    aggregateFit(secret.strategy, Float32Array.of(0, 0, 0), [update('c000')]);
    expect(secret.privacy!.report().epsilonUnamplifiedMax).toBeUndefined();
    expect(secret.privacy!.byClient()).toBeUndefined();
  });
});

describe('short rounds under DP: the release never hinges on an un-noised count', () => {
  const run = (spec: string, minFitClients: number) => {
    const log = memoryLogger();
    const ctx: StrategyContext = { clients: 3, sampling: { fraction: 1, min: minFitClients, seed: 1 } };
    const { strategy, privacy } = withDp('fedavg', ctx, spec, { delta: 1e-5, source: seededNoiseSource(1, 't'), samplingSecret: true });
    // one client answers, two fail: fewer results than minFitClients
    const transport = fakeTransport({
      a: () => ({ numExamples: 5, delta: new Array(101_770).fill(0.001) }),
      b: () => new Error('dropped'),
      c: () => new Error('dropped'),
    });
    const initial = new Float32Array(101_770);
    return runRounds({
      transport,
      strategy,
      privacy,
      spec: DEFAULT_MODEL,
      initialWeights: initial,
      rounds: 1,
      train,
      seed: 1,
      minFitClients,
      roundTimeoutMs: 5000,
      waitForClientsTimeoutMs: 1000,
      log,
    }).then((r) => ({ ...r, initial }));
  };

  it('central: a round with fewer results than minFitClients still releases the noised sum and is charged', async () => {
    const r = await run('central:z=1,clip=1', 3);
    expect(r.history[0]!.skipped).toBeUndefined();
    expect(r.history[0]!.epsilon!).toBeGreaterThan(0);
    expect(Buffer.from(r.weights.buffer).equals(Buffer.from(r.initial.buffer))).toBe(false);
  });

  it('local: such a round is skipped, but the noised updates that reached the coordinator are charged (both neighbouring notions)', async () => {
    const r = await run('local:z=1,clip=1', 3);
    expect(r.history[0]).toMatchObject({ skipped: true, skipReason: 'only 1 result, 3 needed' });
    expect(r.history[0]!.epsilon).toBe(epsilonAt([[1, 1]], 1e-5));
    // any two updates of one client: sensitivity 2S, i.e. noise z/2 at sensitivity S
    expect(r.history[0]!.epsilonReplaceOne).toBe(epsilonAt([[1, 0.5]], 1e-5));
    expect(r.history[0]!.epsilonReplaceOne!).toBeGreaterThan(r.history[0]!.epsilon!);
  });
});
