import { describe, expect, it } from 'vitest';
import { scheduledRate, scheduleSchema } from '../../../shared/optimizers/schedule.ts';
import { loadRunConfig } from '../../../shared/config.ts';

const rate = (s: unknown, round: number, total = 10) => scheduledRate(scheduleSchema.parse(s), 0.1, round, total);

describe('learning-rate schedules (hand-computed)', () => {
  it('constant, step, exponential', () => {
    expect([1, 5, 10].map((r) => rate({ type: 'constant' }, r))).toEqual([0.1, 0.1, 0.1]);
    expect([1, 3, 4, 7].map((r) => rate({ type: 'step', every: 3, gamma: 0.5 }, r))).toEqual([0.1, 0.1, 0.05, 0.025]);
    expect(rate({ type: 'exponential', gamma: 0.9 }, 3)).toBeCloseTo(0.1 * 0.81, 12);
  });

  it('cosine from lr to minLr over the run, with a linear warm-up first', () => {
    expect(rate({ type: 'cosine' }, 1)).toBeCloseTo(0.1, 12);
    expect(rate({ type: 'cosine' }, 10)).toBeCloseTo(0, 12);
    expect(rate({ type: 'cosine', minLr: 0.01 }, 5.5)).toBeCloseTo(0.055, 12); // the midpoint
    expect([1, 2, 3].map((r) => rate({ type: 'constant', warmupRounds: 4 }, r))).toEqual([0.025, 0.05, 0.07500000000000001]);
    expect(rate({ type: 'cosine', warmupRounds: 2 }, 3)).toBeCloseTo(0.1, 12);
  });

  it('is validated in the run config', () => {
    expect(() => loadRunConfig(undefined, { schedule: { type: 'step', gamma: 0.5 } })).toThrow(/schedule.every/);
    expect(() => loadRunConfig(undefined, { schedule: { type: 'linear' } })).toThrow(/schedule/);
  });
});
