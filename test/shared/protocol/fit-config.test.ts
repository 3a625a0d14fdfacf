import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../../shared/config.ts';
import { fitConfig, fitConfigSchema, runTrainSchema } from '../../../shared/protocol/fit-config.ts';
import { trainConfig } from '../../../shared/train-config.ts';

const hyperparameters = { epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1 } as const;

describe('fit config: the hyperparameters and the coordinator-only instructions', () => {
  it('travels as one flat object, the instructions after the hyperparameters, at their defaults when unset', () => {
    const c = fitConfig({ ...hyperparameters, frozen: ['dense0'] });
    expect(Object.keys(c)).toEqual([...Object.keys(trainConfig(hyperparameters)), 'mu', 'frozen']);
    expect(c).toMatchObject({ mu: 0, frozen: ['dense0'] });
    expect(c.localDp).toBeUndefined();
    expect(fitConfigSchema.parse({ ...hyperparameters, localDp: { clip: 1, noiseMultiplier: 0.5 } }).localDp).toEqual({ clip: 1, noiseMultiplier: 0.5 });
    expect(fitConfigSchema.safeParse({ ...hyperparameters, bogus: 1 }).success).toBe(false);
  });

  it('the train: section takes the hyperparameters alone and names the setting each coordinator-only field comes from', () => {
    expect(runTrainSchema.parse(hyperparameters)).toEqual(trainConfig(hyperparameters));
    const r = runTrainSchema.safeParse({ ...hyperparameters, batchSize: 0, mu: 0.1, frozen: ['dense0'], localDp: { clip: 1, noiseMultiplier: 1 } });
    const issues = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toContain('mu: set by the coordinator from `strategy: fedprox:mu=…`; use strategy instead');
    expect(issues).toContain('frozen: set by the coordinator from `freeze:`; use freeze instead');
    expect(issues).toContain('localDp: set by the coordinator from `dp: local:…`; use dp instead');
    expect(issues.some((i) => i.startsWith('batchSize:'))).toBe(true); // reported together with the others
  });

  it('a run config with train.mu says to use the strategy', () => {
    expect(() => resolveRunConfig('t', { train: { ...hyperparameters, mu: 0.1 } })).toThrow(
      /train\.mu: set by the coordinator from `strategy: fedprox:mu=…`; use strategy instead/,
    );
    expect(() => resolveRunConfig('t', { train: { ...hyperparameters, localDp: { clip: 1, noiseMultiplier: 1 } } })).toThrow(
      /train\.localDp: .*use dp instead/,
    );
    expect(resolveRunConfig('t', { train: hyperparameters }).train).not.toHaveProperty('mu');
  });
});
