import { describe, expect, it } from 'vitest';
import { adamStep } from '../../../shared/optimizers/adam.ts';
import { hyperparameterFields } from '../../../shared/optimizers/hyperparameters.ts';
import { OPTIMIZER_NAMES, OPTIMIZERS, stateSlots } from '../../../shared/optimizers/registry.ts';
import { isPlainSgd } from '../../../shared/optimizers/sgd.ts';
import { trainConfig, trainConfigSchema } from '../../../shared/train-config.ts';

const config = (optimizer: (typeof OPTIMIZER_NAMES)[number], extra = {}) => trainConfig({ epochs: 1, batchSize: 1, optimizer, lr: 0.1, ...extra });

describe('the optimizer table', () => {
  it('is what a training config may choose, each entry under its own name', () => {
    expect(trainConfigSchema.shape.optimizer.options).toEqual(OPTIMIZER_NAMES);
    for (const [name, o] of Object.entries(OPTIMIZERS)) expect(o.name).toBe(name);
  });

  it('every optimizer reads the learning rate, weight decay and hyperparameters the config defines', () => {
    for (const o of Object.values(OPTIMIZERS)) {
      expect(o.reads).toEqual(expect.arrayContaining(['lr', 'weightDecay']));
      for (const r of o.reads) expect(Object.keys(hyperparameterFields)).toContain(r);
    }
  });

  it('keeps the state each rule needs: velocity with momentum, two moments for adam, one accumulator otherwise', () => {
    expect(stateSlots(config('sgd'))).toBe(0);
    expect(stateSlots(config('sgd', { momentum: 0.9 }))).toBe(1);
    expect(stateSlots(config('adam'))).toBe(2);
    expect(stateSlots(config('adagrad'))).toBe(1);
    expect(stateSlots(config('rmsprop'))).toBe(1);
  });

  it('plain SGD is SGD without momentum or weight decay', () => {
    expect(isPlainSgd(config('sgd'))).toBe(true);
    expect(isPlainSgd(config('sgd', { weightDecay: 0.01 }))).toBe(false);
    expect(isPlainSgd(config('sgd', { momentum: 0.5 }))).toBe(false);
    expect(isPlainSgd(config('adagrad'))).toBe(false);
  });

  it("adam's step folds the bias corrections into the rate and epsilon", () => {
    const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
    const s = adamStep(h, 1);
    expect(s.lr).toBeCloseTo((0.1 * Math.sqrt(0.001)) / 0.1, 15);
    expect(s.epsilon).toBeCloseTo(1e-8 * Math.sqrt(0.001), 20);
  });
});
