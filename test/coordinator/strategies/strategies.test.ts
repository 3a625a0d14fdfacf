import fc from 'fast-check';
import { fitConfig } from '../../../shared/protocol/fit-config.ts';
import { describe, expect, it } from 'vitest';
import { weightedMean } from '../../../coordinator/strategies/combine/weighted-mean.ts';
import { coordinateMedian, krumSelect, trimmedMean } from '../../../coordinator/strategies/combine/robust.ts';
import { sampleClients } from '../../../coordinator/strategies/sampling.ts';
import type { FitOutcome, StrategyContext } from '../../../coordinator/strategies/strategy.ts';
import { AggregationError } from '../../../shared/errors.ts';
import { parseStrategySpec, STRATEGY_NAMES } from '../../../shared/strategy-spec.ts';
import { aggregateFit, strategyOf } from './round.ts';

const ctx = (clients = 10, fraction = 1, min = 1): StrategyContext => ({ clients, sampling: { fraction, min, seed: 7 } });
const outcome = (name: string, numExamples: number, delta: number[]): FitOutcome => ({
  client: { id: name, name },
  numExamples,
  delta: Float32Array.from(delta),
  metrics: {},
});
const base = fitConfig({ epochs: 2, batchSize: 32, optimizer: 'sgd', lr: 0.1, momentum: 0, mu: 0 });
const step = (spec: string, global: number[], results: FitOutcome[], c = ctx()) => [...aggregateFit(strategyOf(spec, c), Float32Array.from(global), results)];
const vectors = (...vs: number[][]) => vs.map((v, i) => outcome(`c${i}`, 1, v));

describe('strategies against hand-computed aggregates', () => {
  it('fedavg: example-weighted mean delta; bad inputs are clear errors', () => {
    // (100·[1, 0] + 300·[0, 1] + 600·[−1, 2]) / 1000 = [−0.5, 1.5]
    expect(step('fedavg', [10, 10], [outcome('a', 100, [1, 0]), outcome('b', 300, [0, 1]), outcome('c', 600, [-1, 2])])).toEqual([9.5, 11.5]);
    expect(weightedMean([outcome('a', 1, [2, 0, -4]), outcome('b', 3, [6, 4, 0])])).toEqual({ delta: Float32Array.of(5, 3, -1), clients: 2, numExamples: 4 });
    expect(() => weightedMean([])).toThrow(/weighted mean: no results/);
    expect(() => weightedMean(vectors([1], [1, 2]))).toThrow(/c1's update has length 2, expected 1/);
    expect(() => weightedMean([outcome('a', -1, [1])])).toThrow(/a reports -1 examples/);
    expect(() => weightedMean([outcome('a', 0, [1])])).toThrow(/the example counts sum to zero/);
    const s = strategyOf('fedavg', ctx());
    const ins = s.configureFit(
      1,
      [
        { id: 'x', name: 'x' },
        { id: 'y', name: 'y' },
      ],
      base,
    );
    expect(ins.map((i) => i.client.id)).toEqual(['x', 'y']);
    expect(ins[0]!.config).toBe(base);
  });

  it('fedsgd: one full-batch step per client, averaged like fedavg', () => {
    const s = strategyOf('fedsgd', ctx());
    const [ins] = s.configureFit(1, [{ id: 'a', name: 'a' }], base);
    expect(ins!.config).toMatchObject({ epochs: 1, batchSize: 65536, momentum: 0, lr: 0.1 });
    expect(step('fedsgd', [0], [outcome('a', 1, [2]), outcome('b', 3, [6])])).toEqual([5]);
  });

  it('fedprox: passes μ to the clients and averages like fedavg', () => {
    const s = strategyOf('fedprox:mu=0.5', ctx());
    expect(s.configureFit(1, [{ id: 'a', name: 'a' }], base)[0]!.config.mu).toBe(0.5);
    expect(s.toConfig()).toEqual({ name: 'fedprox', mu: 0.5 });
    expect(step('fedprox:mu=0.5', [1], [outcome('a', 1, [2]), outcome('b', 1, [4])])).toEqual([4]);
  });

  it('stragglers: fedavg drops partial work (all partial: the model stays), fedprox uses it', () => {
    const partial = { ...outcome('p', 1, [10]), partial: true };
    expect(step('fedavg', [0], [outcome('a', 1, [2]), partial])).toEqual([2]);
    expect(step('fedavg', [7], [partial])).toEqual([7]);
    expect(step('fedprox:mu=0.1', [0], [outcome('a', 1, [2]), partial])).toEqual([6]);
  });

  it('fedavgm: v ← β·v + Δ̄; w ← w + η·v over two rounds', () => {
    const s = strategyOf('fedavgm:lr=0.5,momentum=0.9', ctx());
    const w1 = aggregateFit(s, Float32Array.of(0), [outcome('a', 1, [2])]); // v = 2, w = 1
    const w2 = aggregateFit(s, w1, [outcome('a', 1, [1])], { round: 2 }); // v = 0.9·2 + 1 = 2.8, w = 1 + 1.4
    expect(w1[0]).toBeCloseTo(1, 6);
    expect(w2[0]).toBeCloseTo(2.4, 6);
  });

  it("fedadam, fedyogi, fedadagrad: Reddi et al.'s updates, two rounds by hand", () => {
    const lr = 0.1;
    const b1 = 0.9;
    const b2 = 0.99;
    const tau = 0.01;
    for (const kind of ['adam', 'yogi', 'adagrad'] as const) {
      const s = strategyOf(`fed${kind}:lr=${lr},beta1=${b1},beta2=${b2},tau=${tau}`, ctx());
      let w = 0;
      let m = 0;
      let v = tau * tau;
      let g: Float32Array = Float32Array.of(0);
      for (const d of [0.5, -0.2]) {
        m = b1 * m + (1 - b1) * d;
        if (kind === 'adagrad') v = v + d * d;
        else if (kind === 'adam') v = b2 * v + (1 - b2) * d * d;
        else v = v - (1 - b2) * d * d * Math.sign(v - d * d);
        w += (lr * m) / (Math.sqrt(v) + tau);
        g = aggregateFit(s, g, [outcome('a', 1, [d])]);
      }
      expect(g[0]).toBeCloseTo(w, 6);
    }
  });

  it('fedmedian and trimmed mean', () => {
    expect(step('fedmedian', [1, 1], [outcome('a', 1, [1, -5]), outcome('b', 99, [3, 0]), outcome('c', 1, [100, 2])])).toEqual([4, 1]);
    expect([...coordinateMedian([Float32Array.of(1), Float32Array.of(4)])]).toEqual([2.5]);
    // β = 0.2 of 5 values trims one from each end: mean of [2, 3, 4]
    expect(
      step(
        'trimmedmean:beta=0.2',
        [0],
        [1, 2, 3, 4, 1000].map((v, i) => outcome(`c${i}`, 1, [v])),
      ),
    ).toEqual([3]);
    expect(() => trimmedMean([Float32Array.of(1), Float32Array.of(2)], 0.49)).not.toThrow();
    expect(() => trimmedMean([Float32Array.of(1), Float32Array.of(2), Float32Array.of(3)], 0.5)).toThrow(/nothing would remain/);
  });

  it('krum picks the update closest to its neighbours; multi-krum averages the best m', () => {
    // four clustered updates and one far away; f = 1, n = 5 > 2f + 2
    const results = [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [50, 50],
    ].map((v, i) => outcome(`c${i}`, 1, v));
    const k = step('krum:f=1', [0, 0], results, ctx(5));
    expect(k[0]).toBeLessThanOrEqual(1);
    expect(k[1]).toBeLessThanOrEqual(1);
    expect(step('multikrum:f=1,m=4', [0, 0], results, ctx(5))).toEqual([0.5, 0.5]);
  });

  it("multi-krum's default m is the round's n − f: with C = 0.5 of 10 clients, the outlier among the 5 updates is left out", () => {
    // four honest [0, 0] and one [100, −100]: averaging all five would give [20, −20]
    const results = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [100, -100],
    ].map((v, i) => outcome(`c${i}`, 1, v));
    expect(step('multikrum:f=1', [0, 0], results, ctx(10, 0.5))).toEqual([0, 0]);
    // after a dropout (6 asked, 5 answered) likewise: m = 5 − 1
    expect(step('multikrum:f=1', [0, 0], results, ctx(6))).toEqual([0, 0]);
    expect(strategyOf('multikrum:f=1', ctx(10, 0.5)).toConfig()).toEqual({ name: 'multikrum', f: 1 });
  });

  it("an explicit m above a round's n − f is clamped to it; one above n − f of a full round is refused up front", () => {
    const results = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [100, -100],
    ].map((v, i) => outcome(`c${i}`, 1, v));
    // 6 asked, 5 answered: m = 5 would take the outlier in, n − f = 4 does not
    expect(step('multikrum:f=1,m=5', [0, 0], results, ctx(6))).toEqual([0, 0]);
    expect(() => strategyOf('multikrum:f=1,m=6', ctx(6))).toThrow(/strategy multikrum with f = 1: m = 6 is more than n − f = 5 of the 6 clients a round asks/);
  });

  it('a round with too few updates for Krum is an AggregationError (the round loop skips it), with the precise message', () => {
    const four = [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ].map((v, i) => outcome(`c${i}`, 1, v));
    for (const spec of ['krum:f=1', 'multikrum:f=1']) {
      const s = strategyOf(spec, ctx(5));
      const run = () => aggregateFit(s, Float32Array.of(0, 0), four);
      expect(run, spec).toThrow(AggregationError);
      expect(run, spec).toThrow('Krum with f = 1 needs more than 2f + 2 = 4 updates, got 4');
    }
    try {
      krumSelect(
        four.map((r) => r.delta),
        1,
        1,
      );
    } catch (e) {
      expect((e as AggregationError).code).toBe('E_AGGREGATION');
    }
  });

  it('a non-finite new model is an AggregationError, and the stateful strategies keep their state as it was', () => {
    // lr = 1e38 makes the first step (≥ 1e37) overflow float32 from w = 3.4e38; the next round must start from fresh state
    for (const spec of ['fedavgm:lr=1e38,momentum=0.9', 'fedadam:lr=1e38', 'fedyogi:lr=1e38', 'fedadagrad:lr=1e38', 'fedavg']) {
      const s = strategyOf(spec, ctx());
      expect(() => aggregateFit(s, Float32Array.of(3.4e38), [outcome('a', 1, [spec === 'fedavg' ? 3.4e38 : 1])]), spec).toThrow(AggregationError);
      const after = aggregateFit(s, Float32Array.of(0), [outcome('a', 1, [-0.5])], { round: 2 });
      const fresh = aggregateFit(strategyOf(spec, ctx()), Float32Array.of(0), [outcome('a', 1, [-0.5])]);
      expect([...after], spec).toEqual([...fresh]);
    }
    expect(() => step('fedmedian', [3.4e38], [outcome('a', 1, [3.4e38])])).toThrow(
      /fedmedian: the new global model is not finite \(Infinity at coordinate 0\)/,
    );
  });

  it('refuses Krum when a round cannot have n > 2f + 2, and bad parameters, each with a clear message', () => {
    expect(() => strategyOf('krum:f=2', ctx(6))).toThrow(/krum with f = 2 needs more than 2f \+ 2 = 6 clients per round; this run asks 6/);
    expect(() => strategyOf('krum:f=1', ctx(10, 0.3, 1))).toThrow(/this run asks 3/);
    expect(() => strategyOf('fedprox:mu=-1', ctx())).toThrow(/strategy fedprox: mu: .*>=0/);
    expect(() => strategyOf('fedavgm:speed=3', ctx())).toThrow(/strategy fedavgm: .*speed/);
    expect(() => strategyOf('fedprox:mu', ctx())).toThrow(/"mu" is not key=value/);
    expect(() => strategyOf('fedprox:mu=abc', ctx())).toThrow(/mu must be a number, got "abc"/);
    expect(() => strategyOf('fedmagic', ctx())).toThrow(/unknown strategy "fedmagic" \(available: fedavg, fedsgd, fedprox/);
    expect(parseStrategySpec('FedProx:mu=0.1')).toEqual({ name: 'fedprox', mu: 0.1 });
    expect(STRATEGY_NAMES).toHaveLength(11);
  });
});

describe('client sampling', () => {
  const clients = Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, name: `client-${String(i).padStart(2, '0')}` }));

  it('draws a seeded fraction C with a minimum, independent of connection order', () => {
    const a = sampleClients(clients, 3, { fraction: 0.25, min: 2, seed: 1 });
    expect(a).toHaveLength(5);
    expect(sampleClients([...clients].reverse(), 3, { fraction: 0.25, min: 2, seed: 1 })).toEqual(a);
    expect(sampleClients(clients, 4, { fraction: 0.25, min: 2, seed: 1 })).not.toEqual(a);
    expect(sampleClients(clients, 3, { fraction: 0.01, min: 2, seed: 1 })).toHaveLength(2);
    expect(sampleClients(clients.slice(0, 1), 3, { fraction: 0.5, min: 2, seed: 1 })).toHaveLength(1);
  });
});

describe('properties (fast-check)', () => {
  const vec = (n: number) => fc.array(fc.float({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n });

  it('FedAvg of identical updates is that update', () => {
    fc.assert(
      fc.property(vec(6), fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 8 }), (d, counts) => {
        const u = Float32Array.from(d);
        const out = aggregateFit(
          strategyOf('fedavg', ctx()),
          new Float32Array(6),
          counts.map((c, i) => ({ client: { id: `${i}`, name: `${i}` }, numExamples: c, delta: u, metrics: {} })),
        );
        for (const [i, v] of out.entries()) expect(Math.abs(v - u[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(u[i]!)));
      }),
    );
  });

  it('the order of results never changes the aggregate beyond float rounding', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(vec(4), fc.integer({ min: 1, max: 100 })), { minLength: 1, maxLength: 7 }), fc.nat(), (items, shift) => {
        const results = items.map(([d, n], i) => outcome(`c${i}`, n, d));
        const rotated = results.map((_, i) => results[(i + shift) % results.length]!);
        for (const spec of ['fedavg', 'fedmedian', 'trimmedmean:beta=0.1']) {
          const a = aggregateFit(strategyOf(spec, ctx()), new Float32Array(4), results);
          const b = aggregateFit(strategyOf(spec, ctx()), new Float32Array(4), rotated);
          for (const [i, v] of a.entries()) expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(v)));
        }
      }),
    );
  });

  it('the median of an odd set is one of the values', () => {
    fc.assert(
      fc.property(
        fc.array(vec(3), { minLength: 1, maxLength: 9 }).filter((a) => a.length % 2 === 1),
        (vs) => {
          const med = coordinateMedian(vs.map((v) => Float32Array.from(v)));
          for (const [i, m] of med.entries()) expect(vs.map((v) => Math.fround(v[i]!))).toContain(m);
        },
      ),
    );
  });

  it('Krum never selects a far outlier', () => {
    fc.assert(
      fc.property(fc.array(vec(3), { minLength: 5, maxLength: 9 }), fc.nat(), (honest, at) => {
        const vs = honest.map((v) => Float32Array.from(v, (x) => x / 1000)); // honest updates within [−1, 1]
        const outlier = Float32Array.of(1e6, -1e6, 1e6);
        vs.splice(at % (vs.length + 1), 0, outlier);
        const chosen = krumSelect(vs, 1, 1)[0]!;
        expect(vs[chosen]).not.toBe(outlier);
      }),
    );
  });
});
