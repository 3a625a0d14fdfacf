import { describe, expect, it } from 'vitest';
import { bayesSampler } from '../../../shared/tuning/samplers/bayes.ts';
import { createSampler, type TuningMethod } from '../../../shared/tuning/samplers/index.ts';
import { randomSampler } from '../../../shared/tuning/samplers/random.ts';
import type { Observation, Sampler } from '../../../shared/tuning/samplers/sampler.ts';
import { type Assignment, type SearchSpace, assignmentKey, parseSearchSpace } from '../../../shared/tuning/space.ts';

/** Runs `n` trials one after another; returns the history. */
function optimise(sampler: Sampler, n: number, score: (a: Assignment) => number): Observation[] {
  const history: Observation[] = [];
  for (let i = 0; i < n; i++) {
    const a = sampler.next(history, []);
    if (!a) break;
    history.push({ assignment: a, score: score(a) });
  }
  return history;
}
const bestOf = (h: readonly Observation[]) => h.reduce((b, o) => (o.score > b.score ? o : b));

const branin = (x1: number, x2: number) =>
  (x2 - (5.1 / (4 * Math.PI ** 2)) * x1 * x1 + (5 / Math.PI) * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
const BRANIN_MIN = 0.397887;
const braninSpace = parseSearchSpace(
  {
    params: [
      { name: 'x1', type: 'float', low: -5, high: 10 },
      { name: 'x2', type: 'float', low: 0, high: 15 },
    ],
  },
  'branin',
);
const braninScore = (a: Assignment) => -branin(a.x1 as number, a.x2 as number);
/** The lowest Branin value found in `n` evaluations. */
const braninBest = (method: TuningMethod, seed: number, n: number) => -bestOf(optimise(createSampler(method, braninSpace, { seed }), n, braninScore)).score;

describe('Bayesian optimisation', () => {
  it('finds the maximum of −(x − 0.3)² on [−2, 2] to within 0.01 in x after 15 evaluations, for each of 10 seeds', () => {
    const space = parseSearchSpace({ params: [{ name: 'x', type: 'float', low: -2, high: 2 }] }, 'q');
    const errors = Array.from({ length: 10 }, (_, seed) =>
      Math.abs((bestOf(optimise(bayesSampler(space, { seed }), 15, (a) => -(((a.x as number) - 0.3) ** 2))).assignment.x as number) - 0.3),
    );
    // measured: worst 3.4e-3; random search's expected nearest of 15 is about 0.13
    expect(Math.max(...errors)).toBeLessThan(0.01);
  });

  it("gets within 0.01 of Branin's minimum 0.397887 in 40 evaluations, for each of 5 seeds", () => {
    const best = [0, 1, 2, 3, 4].map((seed) => braninBest('bayes', seed, 40));
    // measured over seeds 0–19: worst 0.4004
    for (const b of best) expect(b - BRANIN_MIN).toBeLessThan(0.01);
  });

  it("beats random search on Branin at 25 evaluations, mean best over 20 seeds: bayes within 0.1 of the minimum and under a third of random's", () => {
    const seeds = Array.from({ length: 20 }, (_, s) => s);
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    const bayes = mean(seeds.map((s) => braninBest('bayes', s, 25)));
    const random = mean(seeds.map((s) => braninBest('random', s, 25)));
    // measured: bayes 0.436, random 2.653
    expect(bayes - BRANIN_MIN).toBeLessThan(0.1);
    expect(bayes).toBeLessThan(random / 3);
  });

  it("starts with the random sampler's proposals, then is deterministic in (seed, history, pending)", () => {
    const bayes = optimise(bayesSampler(braninSpace, { seed: 9 }), 8, braninScore);
    const random = optimise(randomSampler(braninSpace, 9), 5, braninScore);
    expect(bayes.slice(0, 5)).toEqual(random);
    const again = bayesSampler(braninSpace, { seed: 9 }).next(bayes.slice(0, 7), []);
    expect(again).toEqual(bayes[7]!.assignment);
  });

  it('proposes distinct parallel trials around pending ones (constant liar), none a repeat', () => {
    const history = optimise(bayesSampler(braninSpace, { seed: 2 }), 10, braninScore);
    const sampler = bayesSampler(braninSpace, { seed: 2 });
    const pending: Assignment[] = [];
    for (let i = 0; i < 4; i++) pending.push(sampler.next(history, pending)!);
    const keys = new Set([...history.map((o) => assignmentKey(o.assignment)), ...pending.map(assignmentKey)]);
    expect(keys.size).toBe(14);
    // the lie pushes proposals apart: no two pending closer than 1% of the range
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < i; j++) {
        const d = Math.hypot(((pending[i]!.x1 as number) - (pending[j]!.x1 as number)) / 15, ((pending[i]!.x2 as number) - (pending[j]!.x2 as number)) / 15);
        expect(d).toBeGreaterThan(0.01);
      }
    }
  });

  it('keeps going when every score is equal or some trials failed (non-finite scores)', () => {
    const flat = optimise(bayesSampler(braninSpace, { seed: 1 }), 10, () => 0.5);
    expect(new Set(flat.map((o) => assignmentKey(o.assignment))).size).toBe(10);
    let i = 0;
    const failing = optimise(bayesSampler(braninSpace, { seed: 1 }), 10, (a) => (i++ % 3 === 0 ? Number.NaN : braninScore(a)));
    expect(failing).toHaveLength(10);
    for (const o of failing) expect(Number.isFinite(o.assignment.x1 as number)).toBe(true);
  });

  it('handles choices and conditional params: finds the best strategy and its mu on a mixed space in 30 evaluations', () => {
    const space: SearchSpace = parseSearchSpace(
      {
        params: [
          { name: 'lr', type: 'float', low: 0.0001, high: 1, log: true },
          { name: 'strategy', type: 'choice', values: ['fedavg', 'fedprox', 'fedavgm'] },
          { name: 'mu', type: 'float', low: 0.001, high: 1, log: true, when: { strategy: ['fedprox'] } },
          { name: 'epochs', type: 'int', low: 1, high: 10 },
        ],
      },
      'mixed',
    );
    // best: lr 0.01, fedprox with mu 0.1, 4 epochs (score 0); other strategies lose 1
    const score = (a: Assignment) =>
      -((Math.log10(a.lr as number) + 2) ** 2) -
      (a.strategy === 'fedprox' ? (Math.log10(a.mu as number) + 1) ** 2 : 1) -
      0.1 * Math.abs((a.epochs as number) - 4);
    const bests = [0, 1, 2].map((seed) => bestOf(optimise(bayesSampler(space, { seed }), 30, score)));
    const randoms = [0, 1, 2].map((seed) => bestOf(optimise(randomSampler(space, seed), 30, score)));
    for (const b of bests) {
      expect(b.assignment.strategy).toBe('fedprox');
      expect(b.score).toBeGreaterThan(-0.1);
    }
    expect(Math.min(...bests.map((b) => b.score))).toBeGreaterThan(Math.max(...randoms.map((b) => b.score)));
  });

  it('returns undefined once a finite space is used up, after proposing each assignment once', () => {
    const tiny = parseSearchSpace(
      {
        params: [
          { name: 'a', type: 'choice', values: ['x', 'y', 'z'] },
          { name: 'n', type: 'int', low: 1, high: 3 },
        ],
      },
      't',
    );
    const history = optimise(bayesSampler(tiny, { seed: 4 }), 12, (a) => (a.n as number) + (a.a === 'y' ? 1 : 0));
    expect(history).toHaveLength(9);
    expect(new Set(history.map((o) => assignmentKey(o.assignment))).size).toBe(9);
  });
});
