import { describe, expect, it } from 'vitest';
import type { FitOutcome, StrategyContext } from '../../../coordinator/strategies/strategy.ts';
import { fitConfig } from '../../../shared/protocol/fit-config.ts';
import { AggregationError } from '../../../shared/errors.ts';
import { RdpAccountant, dpFedAvg, seededNoiseSource } from '../../../shared/privacy/index.ts';
import { aggregateFit, strategyOf, withDp } from './round.ts';

const ctx: StrategyContext = { clients: 10, sampling: { fraction: 0.2, min: 1, seed: 1 } };
const result = (name: string, delta: number[], numExamples = 5): FitOutcome => ({
  client: { id: name, name },
  numExamples,
  delta: Float32Array.from(delta),
  metrics: {},
});
const global = Float32Array.from([1, 1, 1]);
const results = [result('a', [3, 4, 0]), result('b', [0, 0.1, 0], 500)];

describe('differential privacy in place of the weighted mean', () => {
  it("central: the new model is the old one plus DP-FedAvg of the clipped deltas over the expected 2 clients, with the coordinator's noise", () => {
    const dp = withDp('fedavg', ctx, 'central:z=1.0,clip=1.0', { delta: 1e-5, source: seededNoiseSource(7, 'test'), samplingSecret: true });
    const next = aggregateFit(dp.strategy, global, results);
    // the same release computed directly: clipped [0.6, 0.8, 0] and [0, 0.1, 0], summed, / qN = 2, plus N(0, (1·1/2)²)
    const expected = dpFedAvg(
      results.map((r) => r.delta),
      { clip: 1, noiseMultiplier: 1, expectedClients: 2, source: seededNoiseSource(7, 'test') },
    );
    expect(expected.sigma).toBe(0.5);
    expect(Array.from(next)).toEqual(Array.from(global).map((g, i) => Math.fround(g + expected.update[i]!)));
    // the example counts do not weigh in: DP-FedAvg weighs every client alike
    const accountant = new RdpAccountant();
    accountant.step(0.2, 1);
    expect(dp.privacy!.report()).toMatchObject({ epsilon: accountant.epsilon(1e-5).epsilon, delta: 1e-5, clip: 1 });
    expect(dp.strategy.toConfig()).toEqual({ name: 'fedavg', dp: 'central:z=1,clip=1', dpDelta: 1e-5 });
  });

  it('ε grows round by round; adaptive clipping moves the clip toward the target quantile', () => {
    const dp = withDp('fedavgm:lr=1,momentum=0.9', ctx, 'central:z=1.0,adaptive=0.5,clip=0.1,bitNoise=1', {
      delta: 1e-5,
      source: seededNoiseSource(3, 'test'),
      samplingSecret: true,
    });
    expect(dp.privacy!.report().epsilon).toBe(0);
    let w: Float32Array = global;
    const eps: number[] = [];
    const clips: number[] = [];
    for (let round = 1; round <= 5; round++) {
      w = aggregateFit(dp.strategy, w, results, { round });
      eps.push(dp.privacy!.report().epsilon);
      clips.push(dp.privacy!.report().clip);
    }
    for (let i = 1; i < 5; i++) expect(eps[i]!).toBeGreaterThan(eps[i - 1]!);
    // both norms (5 and 0.1) are at or above the 0.1 start: the clip grows toward their median
    expect(clips[4]!).toBeGreaterThan(0.1);
  });

  it('local: clients get the clip and noise in their task; the coordinator averages as usual and accounts at q = 1', () => {
    const dp = withDp('fedavg', ctx, 'local:z=0.5,clip=2', { delta: 1e-6, source: seededNoiseSource(1, 'test'), samplingSecret: true });
    const clients = Array.from({ length: 10 }, (_, i) => ({ id: `c${i}`, name: `c${i}` }));
    const ins = dp.strategy.configureFit(1, clients, fitConfig({ epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1 }));
    expect(ins).toHaveLength(2);
    expect(ins.every((i) => i.config.localDp?.clip === 2 && i.config.localDp.noiseMultiplier === 0.5)).toBe(true);
    expect(Array.from(aggregateFit(dp.strategy, global, results))).toEqual(Array.from(aggregateFit(strategyOf('fedavg', ctx), global, results)));
    const accountant = new RdpAccountant();
    accountant.step(1, 0.5);
    expect(dp.privacy!.report().epsilon).toBe(accountant.epsilon(1e-6).epsilon);
  });

  it('a round whose model would not be finite is an AggregationError: the adaptive clip stays, the privacy spent is still counted', () => {
    const dp = withDp('fedavgm:lr=1e38', ctx, 'central:z=1.0,adaptive=0.5,clip=0.1,bitNoise=1', {
      delta: 1e-5,
      source: seededNoiseSource(3, 'test'),
      samplingSecret: true,
    });
    // a step of about 1e38 · clip from w = 3.4e38 overflows float32
    expect(() => aggregateFit(dp.strategy, Float32Array.of(3.4e38, 3.4e38, 3.4e38), results)).toThrow(AggregationError);
    const accountant = new RdpAccountant();
    accountant.step(0.2, 1);
    // the mechanism ran (its noise drawn, its release seen by the coordinator): the conservative account counts it
    expect(dp.privacy!.report()).toMatchObject({ epsilon: accountant.epsilon(1e-5).epsilon, delta: 1e-5, clip: 0.1 });
    aggregateFit(dp.strategy, global, results, { round: 2 });
    expect(dp.privacy!.report().clip).not.toBe(0.1);
  });

  it('refuses strategies that need every individual update', () => {
    const all: StrategyContext = { clients: 10, sampling: { fraction: 1, min: 1, seed: 1 } };
    for (const name of ['fedmedian', 'krum:f=1', 'trimmedmean:beta=0.2']) {
      expect(() => withDp(name, all, 'central:z=1,clip=1', { delta: 1e-5, samplingSecret: true }), name).toThrow(/^dp: .* needs every individual update/);
    }
  });
});
