import { describe, expect, it } from 'vitest';
import { weightedAverage } from '../../../coordinator/strategies/aggregate.ts';
import { fedAvg } from '../../../coordinator/strategies/fedavg.ts';
import { createStrategy } from '../../../coordinator/strategies/index.ts';
import type { FitOutcome } from '../../../coordinator/strategies/strategy.ts';

const outcome = (name: string, numExamples: number, delta: number[]): FitOutcome => ({
  client: { id: name, name },
  numExamples,
  delta: Float32Array.from(delta),
  metrics: {},
});

describe('weighted FedAvg', () => {
  it('matches a hand-computed example-weighted mean', () => {
    // weights 1, 3: (1·[2, 0, -4] + 3·[6, 4, 0]) / 4 = [5, 3, -1]
    expect([...weightedAverage([Float32Array.of(2, 0, -4), Float32Array.of(6, 4, 0)], [1, 3])]).toEqual([5, 3, -1]);
  });

  it('adds the weighted mean delta to the global model', () => {
    const global = Float32Array.of(10, 10);
    // n = 100, 300, 600: (100·[1, 0] + 300·[0, 1] + 600·[-1, 2]) / 1000 = [-0.5, 1.5]
    const next = fedAvg().aggregateFit(1, global, [outcome('a', 100, [1, 0]), outcome('b', 300, [0, 1]), outcome('c', 600, [-1, 2])], []);
    expect([...next]).toEqual([9.5, 11.5]);
    expect([...global]).toEqual([10, 10]); // not mutated
  });

  it('ignores failed clients and weights by examples only', () => {
    const next = fedAvg().aggregateFit(1, Float32Array.of(0), [outcome('a', 1, [4])], [{ client: { id: 'b', name: 'b' }, reason: 'gone' }]);
    expect([...next]).toEqual([4]);
  });

  it('rejects mismatched lengths, bad weights and empty input with clear messages', () => {
    expect(() => weightedAverage([], [])).toThrow(/no vectors/);
    expect(() => weightedAverage([Float32Array.of(1), Float32Array.of(1, 2)], [1, 1])).toThrow(/vector 1 has length 2, expected 1/);
    expect(() => weightedAverage([Float32Array.of(1)], [-1])).toThrow(/weight 0 is -1/);
    expect(() => weightedAverage([Float32Array.of(1)], [0])).toThrow(/sum to zero/);
  });

  it('configures every available client with the base training config', () => {
    const base = { epochs: 1, batchSize: 32, optimizer: 'sgd' as const, lr: 0.05, momentum: 0 };
    const ins = fedAvg().configureFit(1, [{ id: 'x', name: 'x' }, { id: 'y', name: 'y' }], base);
    expect(ins.map((i) => i.client.id)).toEqual(['x', 'y']);
    expect(ins[0]!.config).toBe(base);
  });

  it('is found by name in the registry; an unknown name is a clear error', () => {
    expect(createStrategy('fedavg').name).toBe('fedavg');
    expect(() => createStrategy('fedmagic')).toThrow(/unknown strategy "fedmagic" \(available: fedavg\)/);
  });
});
