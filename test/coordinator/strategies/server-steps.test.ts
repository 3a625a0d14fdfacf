import { describe, expect, it } from 'vitest';
import { adaptiveStep } from '../../../coordinator/strategies/step/adaptive.ts';
import { fedAvgStep } from '../../../coordinator/strategies/step/fedavg.ts';
import { fedAvgMStep } from '../../../coordinator/strategies/step/fedavgm.ts';
import { takeStep, type ServerStep } from '../../../coordinator/strategies/step/server-step.ts';
import { AggregationError } from '../../../shared/errors.ts';
import { parseStrategySpec, type SpecOf } from '../../../shared/strategy-spec.ts';

const update = (...delta: number[]) => ({ delta: Float32Array.from(delta), clients: 1 });

describe('server steps', () => {
  it('FedAvg: w + Δ, neither input changed', () => {
    const w = Float32Array.of(1, 2);
    const d = update(0.5, -1);
    expect(Array.from(takeStep(fedAvgStep, w, d, 'fedavg'))).toEqual([1.5, 1]);
    expect(Array.from(w)).toEqual([1, 2]);
    expect(Array.from(d.delta)).toEqual([0.5, -1]);
  });

  it('FedAvgM: a proposal leaves the velocity as it was until committed', () => {
    const step = fedAvgMStep(parseStrategySpec('fedavgm:lr=0.5,momentum=0.9') as SpecOf<'fedavgm'>);
    const w = Float32Array.of(0);
    // proposed twice without a commit: the same model both times (v = 2, w = 1)
    expect(Array.from(step.propose(w, update(2)).weights)).toEqual([1]);
    const p = step.propose(w, update(2));
    expect(Array.from(p.weights)).toEqual([1]);
    p.commit();
    // v = 0.9·2 + 1 = 2.8: w = 1 + 1.4
    expect(step.propose(Float32Array.of(1), update(1)).weights[0]).toBeCloseTo(2.4, 6);
  });

  it('FedAdam, FedYogi, FedAdagrad: the moments move only on commit', () => {
    for (const name of ['fedadam', 'fedyogi', 'fedadagrad'] as const) {
      const spec = parseStrategySpec(`${name}:lr=0.1,tau=0.01`) as SpecOf<typeof name>;
      const step = adaptiveStep(spec);
      const first = Array.from(step.propose(Float32Array.of(0), update(0.5)).weights);
      // the first step from fresh moments: m = 0.05, v by the rule, w = η·m/(√v + τ)
      const v = name === 'fedadagrad' ? 1e-4 + 0.25 : name === 'fedadam' ? 0.99 * 1e-4 + 0.01 * 0.25 : 1e-4 + 0.01 * 0.25;
      expect(first[0], name).toBeCloseTo((0.1 * 0.05) / (Math.sqrt(v) + 0.01), 6);
      expect(Array.from(step.propose(Float32Array.of(0), update(0.5)).weights), name).toEqual(first);
      step.propose(Float32Array.of(0), update(0.5)).commit();
      expect(Array.from(step.propose(Float32Array.of(0), update(0.5)).weights), name).not.toEqual(first);
    }
  });

  it('takeStep: a model that is not finite is an AggregationError naming the strategy, and the state is not committed', () => {
    let commits = 0;
    const counting = (inner: ServerStep): ServerStep => ({
      snapshot: () => inner.snapshot(),
      restore: (s) => inner.restore(s),
      propose: (w, u) => {
        const p = inner.propose(w, u);
        return {
          weights: p.weights,
          commit: () => {
            commits++;
            p.commit();
          },
        };
      },
    });
    const step = counting(fedAvgMStep(parseStrategySpec('fedavgm:lr=1e38') as SpecOf<'fedavgm'>));
    expect(() => takeStep(step, Float32Array.of(3.4e38), update(1), 'fedavgm')).toThrow(AggregationError);
    expect(() => takeStep(step, Float32Array.of(3.4e38), update(1), 'fedavgm')).toThrow(
      /fedavgm: the new global model is not finite \(Infinity at coordinate 0\)/,
    );
    expect(commits).toBe(0);
    takeStep(step, Float32Array.of(0), update(-0.5), 'fedavgm');
    expect(commits).toBe(1);
  });
});
