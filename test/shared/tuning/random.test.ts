import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomSampler } from '../../../shared/tuning/samplers/random.ts';
import type { Observation, Sampler } from '../../../shared/tuning/samplers/sampler.ts';
import { type Assignment, type SearchSpace, assignmentKey, parseSearchSpace } from '../../../shared/tuning/space.ts';

/** Runs `n` trials one after another, scoring each 0. */
function sequence(sampler: Sampler, n: number): (Assignment | undefined)[] {
  const history: Observation[] = [];
  const out: (Assignment | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const a = sampler.next(history, []);
    out.push(a);
    if (a) history.push({ assignment: a, score: 0 });
  }
  return out;
}

const space = parseSearchSpace(
  {
    params: [
      { name: 'lr', type: 'float', low: 0.001, high: 0.5, log: true },
      { name: 'strategy', type: 'choice', values: ['fedavg', 'fedprox'] },
      { name: 'mu', type: 'float', low: 0.01, high: 1, when: { strategy: ['fedprox'] } },
    ],
  },
  's',
);

describe('random sampler', () => {
  it('gives the same sequence for the same seed, another for another seed', () => {
    expect(sequence(randomSampler(space, 7), 20)).toEqual(sequence(randomSampler(space, 7), 20));
    expect(sequence(randomSampler(space, 7), 20)).not.toEqual(sequence(randomSampler(space, 8), 20));
  });

  it('proposes after a resume what it would have proposed without one', () => {
    const straight = sequence(randomSampler(space, 3), 10);
    const history = straight.slice(0, 6).map((a) => ({ assignment: a!, score: 1 }));
    expect(randomSampler(space, 3).next(history, [])).toEqual(straight[6]);
  });

  it('keeps draws in range, integral for ints, and conditional params present exactly when active', () => {
    const arbParam = fc.oneof(
      fc.tuple(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), fc.boolean()).map(([low, width, log]) => ({
        type: 'float',
        low: log ? Math.abs(low) + 1e-6 : low,
        high: (log ? Math.abs(low) + 1e-6 : low) + width,
        log,
      })),
      fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 200 }), fc.boolean()).map(([low, width, log]) => ({
        type: 'int',
        low: log ? Math.abs(low) + 1 : low,
        high: (log ? Math.abs(low) + 1 : low) + width,
        log,
      })),
    );
    fc.assert(
      fc.property(arbParam, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (p, seed) => {
        const s: SearchSpace = parseSearchSpace(
          {
            params: [
              { name: 'on', type: 'choice', values: [true, false] },
              { name: 'x', ...p, when: { on: [true] } },
            ],
          },
          's',
        );
        const draws = sequence(randomSampler(s, seed), 8);
        // a short int range leaves fewer than 8 assignments: then the sampler stops instead of repeating
        const size = p.type === 'int' ? 1 + (p.high - p.low + 1) : Infinity;
        expect(draws.filter((a) => a !== undefined)).toHaveLength(Math.min(8, size));
        for (const a of draws.filter((d) => d !== undefined)) {
          expect('x' in a!).toBe(a!.on === true);
          if (a!.on !== true) continue;
          const x = a!.x as number;
          expect(x).toBeGreaterThanOrEqual(p.low);
          expect(x).toBeLessThanOrEqual(p.high);
          if (p.type === 'int') expect(Number.isInteger(x)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('follows the log scale: about half the draws of lr fall below its geometric midpoint', () => {
    const draws = sequence(randomSampler(space, 11), 1000);
    const below = draws.filter((a) => (a!.lr as number) < Math.sqrt(0.001 * 0.5)).length;
    expect(below).toBeGreaterThan(440);
    expect(below).toBeLessThan(560);
  });

  it('never repeats in a finite space, avoids pending assignments, and stops when every assignment is taken', () => {
    const finite = parseSearchSpace(
      {
        params: [
          { name: 'a', type: 'choice', values: ['x', 'y', 'z'] },
          { name: 'n', type: 'int', low: 1, high: 2 },
        ],
      },
      's',
    );
    const all = sequence(randomSampler(finite, 5), 7);
    expect(new Set(all.slice(0, 6).map((a) => assignmentKey(a!))).size).toBe(6);
    expect(all[6]).toBeUndefined();
    const sampler = randomSampler(finite, 5);
    const pending: Assignment[] = [];
    for (let i = 0; i < 6; i++) pending.push(sampler.next([], pending)!);
    expect(new Set(pending.map(assignmentKey)).size).toBe(6);
    expect(sampler.next([], pending)).toBeUndefined();
  });
});
