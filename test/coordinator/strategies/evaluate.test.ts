import { describe, expect, it } from 'vitest';
import { weightedMetrics } from '../../../coordinator/strategies/evaluate.ts';
import { createStrategy } from '../../../coordinator/strategies/index.ts';
import type { EvaluateOutcome, StrategyContext } from '../../../coordinator/strategies/strategy.ts';
import { parseStrategySpec, STRATEGY_NAMES } from '../../../shared/strategy-spec.ts';
import { strategyOf } from './round.ts';

const result = (name: string, numExamples: number, metrics: Record<string, number>): EvaluateOutcome => ({ client: { id: name, name }, numExamples, metrics });
const clients = Array.from({ length: 10 }, (_, i) => ({ id: `id-${i}`, name: `c${i}` }));
const ctx = (fractionEvaluate?: number): StrategyContext => ({
  clients: 10,
  sampling: { fraction: 1, min: 1, seed: 7 },
  ...(fractionEvaluate === undefined ? {} : { evaluateSampling: { fraction: fractionEvaluate, min: 1, seed: 7 } }),
});

describe('federated evaluation in the strategies', () => {
  it('aggregateEvaluate: the example-weighted mean of each metric, by hand', () => {
    const agg = weightedMetrics([
      result('a', 10, { accuracy: 0.5, loss: 2 }),
      result('b', 30, { accuracy: 0.9, loss: 1 }),
      result('c', 60, { accuracy: 0.8, loss: 0.5 }),
    ]);
    // accuracy (10·0.5 + 30·0.9 + 60·0.8) / 100 = 0.8; loss (20 + 30 + 30) / 100 = 0.8
    expect(agg.numExamples).toBe(100);
    expect(agg.metrics.accuracy).toBeCloseTo(0.8, 12);
    expect(agg.metrics.loss).toBeCloseTo(0.8, 12);
    expect(Object.keys(agg.metrics)).toEqual(['accuracy', 'loss']);
  });

  it('a metric only some clients report is averaged over those; a client with no rows weighs nothing', () => {
    const agg = weightedMetrics([result('a', 1, { accuracy: 1, f1Macro: 0.2 }), result('b', 3, { accuracy: 0 }), result('z', 0, {})]);
    expect(agg.numExamples).toBe(4);
    expect(agg.metrics).toEqual({ accuracy: 0.25, f1Macro: 0.2 });
    expect(weightedMetrics([])).toEqual({ numExamples: 0, metrics: {} });
    expect(() => weightedMetrics([result('a', 1, { accuracy: Number.NaN })])).toThrow(/a reports accuracy = NaN/);
  });

  it('every strategy shares the default: all clients unless fractionEvaluate samples a seeded subset', () => {
    for (const name of STRATEGY_NAMES) {
      const s = createStrategy(parseStrategySpec(name), ctx());
      expect(
        s.configureEvaluate(1, clients).map((c) => c.name),
        name,
      ).toEqual(clients.map((c) => c.name));
      expect(s.aggregateEvaluate(1, [result('a', 1, { accuracy: 1 }), result('b', 1, { accuracy: 0 })]).metrics.accuracy, name).toBe(0.5);
    }
    const s = strategyOf('fedavg', ctx(0.4));
    const r1 = s.configureEvaluate(1, clients).map((c) => c.name);
    expect(r1).toHaveLength(4);
    expect(
      strategyOf('fedavg', ctx(0.4))
        .configureEvaluate(1, [...clients].reverse())
        .map((c) => c.name),
    ).toEqual(r1);
    const rounds = [1, 2, 3, 4, 5].map((r) =>
      s
        .configureEvaluate(r, clients)
        .map((c) => c.name)
        .join(),
    );
    expect(new Set(rounds).size).toBeGreaterThan(1);
  });
});
