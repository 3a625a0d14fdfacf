import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.ts';
import { loadData, parseRunData } from '../../../shared/data/source.ts';

describe('validation split', () => {
  it('loadData holds a validation split out of the MNIST training rows and keeps the test split whole', () => {
    const full = loadData({ kind: 'mnist' }, 4, 1);
    const split = loadData({ kind: 'mnist' }, 4, 1, 0.1);
    expect(full.validation).toBeUndefined();
    expect(split.validation!.size + split.train.size).toBe(full.train.size);
    expect(split.validation!.size).toBeCloseTo(full.train.size * 0.1, -1);
    expect(split.test.size).toBe(full.test.size);
    expect(() => loadData(parseRunData('synthetic:1,1'), 4, 1, 0.1)).toThrow(ConfigError);
  });
});
