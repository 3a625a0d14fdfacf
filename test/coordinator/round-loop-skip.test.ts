import { fedAvgStep } from '../../coordinator/strategies/step/fedavg.ts';
import { describe, expect, it } from 'vitest';
import { runRounds } from '../../coordinator/round-loop.ts';
import { createStrategy } from '../../coordinator/strategies/index.ts';
import { parseStrategySpec } from '../../shared/strategy-spec.ts';
import { fakeTransport, scriptedLoop, type Answer } from './fake-transport.ts';
import { fitConfig } from '../../shared/protocol/fit-config.ts';
import { memoryLogger } from '../../shared/log.ts';
import { DEFAULT_MODEL } from '../../shared/models/spec.ts';

const train = fitConfig({ epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1 });

const loop = scriptedLoop;

const FLT_MAX = 3.4028234663852886e38;
const honest = (delta: number[]) => () => ({ numExamples: 10, delta });

describe('the round loop skips a round whose results cannot be aggregated, and goes on', () => {
  it('fedavg, one client answering a finite 1e30 delta with 1000 examples: maxUpdateNorm drops it (a failure with its reason); the model stays finite', async () => {
    const t = fakeTransport({ a: honest([1, 0]), b: honest([0, 1]), evil: () => ({ numExamples: 1000, delta: [1e30, 1e30] }) });
    const { log, run } = loop(t, 'fedavg', [0, 0], { maxUpdateNorm: 10 });
    const r = await run;
    expect(r.history.map((h) => [h.clients, h.failures, h.skipped ?? false])).toEqual([
      [2, 1, false],
      [2, 1, false],
    ]);
    // two rounds of the honest mean [0.5, 0.5]
    expect([...r.weights]).toEqual([1, 1]);
    const dropped = log.entries.find((e) => e.level === 'warn' && /update norm 1\.414e\+30 exceeds maxUpdateNorm 10/.test(e.msg ?? ''));
    expect(dropped?.obj).toMatchObject({ client: 'evil' });
  });

  it('maxUpdateNormAction clip scales the update down to the bound instead', async () => {
    const t = fakeTransport({ a: honest([1, 0]), b: honest([0, 1]), evil: () => ({ numExamples: 1000, delta: [1e30, 0] }) });
    const { log, run } = loop(t, 'fedavg', [0, 0], { maxUpdateNorm: 10, maxUpdateNormAction: 'clip', rounds: 1 });
    const r = await run;
    expect(r.history[0]).toMatchObject({ clients: 3, failures: 0 });
    // (1000·[10, 0] + 10·[1, 0] + 10·[0, 1]) / 1020
    expect(r.weights[0]).toBeCloseTo(10010 / 1020, 4);
    expect(r.weights[1]).toBeCloseTo(10 / 1020, 6);
    expect(log.entries.some((e) => /evil's update norm 1e\+30 clipped to maxUpdateNorm 10/.test(e.msg ?? ''))).toBe(true);
  });

  it('without maxUpdateNorm, an aggregate that overflows float32 skips the round (model unchanged, skipReason recorded and logged); the next round proceeds', async () => {
    const t = fakeTransport({
      a: (round) => ({ numExamples: 1, delta: round === 1 ? [FLT_MAX, 0] : [0, 1] }),
      b: (round) => ({ numExamples: 1, delta: round === 1 ? [FLT_MAX, 0] : [0, 3] }),
    });
    const { log, run } = loop(t, 'fedavg', [1e38, 1]);
    const r = await run;
    expect(r.history[0]).toMatchObject({ round: 1, skipped: true, clients: 2 });
    expect(r.history[0]!.skipReason).toMatch(/fedavg: the new global model is not finite \(Infinity at coordinate 0\)/);
    expect(r.history[1]!.skipped).toBeUndefined();
    expect(r.history[1]!.skipReason).toBeUndefined();
    expect([...r.weights]).toEqual([Math.fround(1e38), 3]);
    expect(
      log.entries.some((e) => e.level === 'error' && /round 1 skipped, model unchanged: fedavg: the new global model is not finite/.test(e.msg ?? '')),
    ).toBe(true);
  });

  it('a skipped round leaves server momentum as it was (fedavgm)', async () => {
    // round 1: w = 3e38 + 1e38·1 overflows; round 2 from the unchanged 3e38 with Δ = −3e38
    const t = fakeTransport({ a: (round) => ({ numExamples: 1, delta: round === 1 ? [1] : [-3] }) });
    const { run } = loop(t, 'fedavgm:lr=1e38,momentum=0.9', [3e38]);
    const r = await run;
    expect(r.history.map((h) => h.skipped ?? false)).toEqual([true, false]);
    // a fresh velocity: v = −3, w = 3e38 − 3e38 = 0 (a velocity kept from round 1 would give 0.9e38)
    expect([...r.weights]).toEqual([0]);
  });

  it("krum:f=1 with 5 clients, one dropping out in round 1: that round is skipped with Krum's reason, the run goes on and completes", async () => {
    const answers: Record<string, (round: number) => Answer> = {};
    for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) answers[name] = honest([i % 2, 1]);
    answers.quitter = (round) => (round === 1 ? new Error('quitter (c5) disconnected') : { numExamples: 10, delta: [0, 1] });
    for (const strategy of ['krum:f=1', 'multikrum:f=1']) {
      const { log, run } = loop(fakeTransport(answers), strategy, [0, 0], { rounds: 3 });
      const r = await run;
      expect(
        r.history.map((h) => [h.clients, h.failures, h.skipped ?? false]),
        strategy,
      ).toEqual([
        [4, 1, true],
        [5, 0, false],
        [5, 0, false],
      ]);
      expect(r.history[0]!.skipReason, strategy).toBe('Krum with f = 1 needs more than 2f + 2 = 4 updates, got 4');
      expect(r.weights[1], strategy).toBe(2);
      expect(
        log.entries.some((e) => e.level === 'error' && (e.obj as { code?: string }).code === 'E_AGGREGATION'),
        strategy,
      ).toBe(true);
    }
  });

  it('too few results: the round is skipped with the reason recorded', async () => {
    const t = fakeTransport({ a: honest([1]), b: () => new Error('b (c2) disconnected') });
    const { run } = loop(t, 'fedavg', [0], { minFitClients: 2, rounds: 1 });
    const r = await run;
    expect(r.history[0]).toMatchObject({ skipped: true, skipReason: 'only 1 result, 2 needed', clients: 1, failures: 1 });
    expect([...r.weights]).toEqual([0]);
  });

  it('other errors in aggregation (bugs) still end the run', async () => {
    const t = fakeTransport({ a: honest([1]) });
    const log = memoryLogger();
    const strategy = {
      ...createStrategy(parseStrategySpec('fedavg'), { clients: 1, sampling: { fraction: 1, min: 1, seed: 1 } }),
      step: {
        ...fedAvgStep,
        propose: () => {
          throw new TypeError('a bug');
        },
      },
    };
    await expect(
      runRounds({
        transport: t,
        strategy,
        spec: DEFAULT_MODEL,
        initialWeights: Float32Array.of(0),
        rounds: 1,
        train,
        seed: 1,
        minFitClients: 1,
        roundTimeoutMs: 1000,
        waitForClientsTimeoutMs: 1000,
        log,
      }),
    ).rejects.toThrow('a bug');
  });
});
