import { describe, expect, it } from 'vitest';
import { applyAssignment } from '../../simulations/tuning/apply.ts';

describe('a trial layer from a tuned assignment', () => {
  it("writes dotted paths and strategy parameters in the short form, keeping the base spec's others", () => {
    const layer = applyAssignment(
      { strategy: 'fedadam:beta1=0.5' },
      [
        { name: 'lr', path: 'train.lr' },
        { name: 'tau', path: 'strategy.tau' },
      ],
      { lr: 0.1, tau: 0.01 },
    );
    expect(layer).toEqual({ train: { lr: 0.1 }, strategy: 'fedadam:lr=0.01,beta1=0.5,beta2=0.99,tau=0.01' });
  });

  it('refuses a path through a prototype key, leaving Object.prototype alone', () => {
    for (const path of ['__proto__.polluted', 'train.constructor.x', 'prototype']) {
      expect(() => applyAssignment({}, [{ name: 'p', path }], { p: 1 })).toThrow(/not a setting/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
