import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.ts';
import { countAssignments, enumerateAssignments, gridValues } from '../../../shared/tuning/enumerate.ts';
import { gridSampler, gridSize } from '../../../shared/tuning/samplers/grid.ts';
import type { Observation } from '../../../shared/tuning/samplers/sampler.ts';
import { type Assignment, assignmentKey, parseSearchSpace } from '../../../shared/tuning/space.ts';

const param = (p: Record<string, unknown>) => parseSearchSpace({ params: [{ name: 'p', ...p }] }, 's').params[0]!;

describe('grid values', () => {
  it('spaces floats evenly, or evenly in log for log params, ends exact', () => {
    expect(gridValues(param({ type: 'float', low: 0, high: 1 }), 3)).toEqual([0, 0.5, 1]);
    const logs = gridValues(param({ type: 'float', low: 0.001, high: 1, log: true }), 4) as number[];
    expect(logs[0]).toBe(0.001);
    expect(logs[1]).toBeCloseTo(0.01, 12);
    expect(logs[2]).toBeCloseTo(0.1, 12);
    expect(logs[3]).toBe(1);
    expect(gridValues(param({ type: 'float', low: 2, high: 4 }), 1)).toEqual([3]);
    expect(gridValues(param({ type: 'float', low: 1, high: 100, log: true }), 1)).toEqual([expect.closeTo(10, 12)]);
  });

  it('rounds ints and drops duplicates', () => {
    expect(gridValues(param({ type: 'int', low: 1, high: 5 }), 3)).toEqual([1, 3, 5]);
    expect(gridValues(param({ type: 'int', low: 8, high: 128, log: true }), 3)).toEqual([8, 32, 128]);
    expect(gridValues(param({ type: 'int', low: 1, high: 2 }), 5)).toEqual([1, 2]);
    expect(gridValues(param({ type: 'int', low: 1, high: 3, log: true }), 4)).toEqual([1, 2, 3]);
    expect(gridValues(param({ type: 'choice', values: ['a', { b: 1 }] }), 7)).toEqual(['a', { b: 1 }]);
  });
});

describe('grid enumeration', () => {
  const small = parseSearchSpace(
    {
      params: [
        { name: 's', type: 'choice', values: ['a', 'b'] },
        { name: 'mu', type: 'float', low: 0, high: 1, when: { s: ['b'] } },
        { name: 'n', type: 'int', low: 1, high: 2 },
      ],
    },
    's',
  );

  it('expands a conditional param only under the values that activate it, first param slowest', () => {
    const all = [...enumerateAssignments(small, (p) => gridValues(p, 3))];
    expect(all).toEqual([
      { s: 'a', n: 1 },
      { s: 'a', n: 2 },
      { s: 'b', mu: 0, n: 1 },
      { s: 'b', mu: 0, n: 2 },
      { s: 'b', mu: 0.5, n: 1 },
      { s: 'b', mu: 0.5, n: 2 },
      { s: 'b', mu: 1, n: 1 },
      { s: 'b', mu: 1, n: 2 },
    ]);
    expect(gridSize(small, 3)).toBe(8);
  });

  it('counts the documented example by hand: 3·3·3·2·(1 + 3 + 1)·2 = 540', () => {
    const space = parseSearchSpace(
      {
        params: [
          { name: 'lr', type: 'float', low: 0.001, high: 0.5, log: true },
          { name: 'batchSize', type: 'int', low: 8, high: 128, log: true },
          { name: 'epochs', type: 'int', low: 1, high: 5 },
          { name: 'optimizer', type: 'choice', values: ['sgd', 'adam'] },
          { name: 'strategy', type: 'choice', values: ['fedavg', 'fedprox', 'fedavgm'] },
          { name: 'mu', type: 'float', low: 0.001, high: 1, log: true, when: { strategy: ['fedprox'] } },
          { name: 'model', type: 'choice', values: [{ type: 'mlp' }, { type: 'cnn' }] },
        ],
      },
      's',
    );
    expect(gridSize(space)).toBe(540);
    expect(gridSize(space, 2)).toBe(2 * 2 * 2 * 2 * (1 + 2 + 1) * 2);
    const all = [...enumerateAssignments(space, (p) => gridValues(p, 3))];
    expect(all).toHaveLength(540);
    expect(new Set(all.map(assignmentKey)).size).toBe(540);
  });

  it('counts chained conditions without listing: c needs b, which needs a', () => {
    const chain = parseSearchSpace(
      {
        params: [
          { name: 'a', type: 'choice', values: [0, 1, 2] },
          { name: 'x', type: 'int', low: 1, high: 4 },
          { name: 'b', type: 'choice', values: ['u', 'v'], when: { a: [1, 2] } },
          { name: 'c', type: 'int', low: 1, high: 3, when: { b: ['v'], a: [2] } },
        ],
      },
      's',
    );
    // a=0: x(4) → 4; a=1: x(4)·b(2) → 8; a=2: x(4)·(b=u: 1 + b=v: c(3)) → 16
    const listed = [...enumerateAssignments(chain, (p) => gridValues(p, 10))];
    expect(listed).toHaveLength(28);
    expect(countAssignments(chain, (p) => gridValues(p, 10))).toBe(28);
  });

  it('refuses a bad gridPoints', () => {
    expect(() => gridSize(small, 0)).toThrow(ConfigError);
    expect(() => gridSampler(small, 2.5)).toThrow(/gridPoints must be a whole number/);
  });
});

describe('grid sampler', () => {
  const space = parseSearchSpace(
    {
      params: [
        { name: 's', type: 'choice', values: ['a', 'b'] },
        { name: 'n', type: 'int', low: 1, high: 3 },
      ],
    },
    's',
  );

  it('walks the grid in order, skipping pending and tried assignments, then says it is done', () => {
    const sampler = gridSampler(space);
    const history: Observation[] = [];
    const pending: Assignment[] = [];
    const first = sampler.next(history, pending)!;
    expect(first).toEqual({ s: 'a', n: 1 });
    pending.push(first);
    expect(sampler.next(history, pending)).toEqual({ s: 'a', n: 2 });
    history.push({ assignment: { n: 2, s: 'a' }, score: 0 }); // key order does not matter
    expect(sampler.next(history, pending)).toEqual({ s: 'a', n: 3 });
    const order: Assignment[] = [];
    for (let a = sampler.next(history, pending); a; a = sampler.next(history, pending)) {
      order.push(a);
      history.push({ assignment: a, score: 1 });
    }
    expect(order).toEqual([
      { s: 'a', n: 3 },
      { s: 'b', n: 1 },
      { s: 'b', n: 2 },
      { s: 'b', n: 3 },
    ]);
    expect(sampler.next(history, pending)).toBeUndefined();
  });
});
