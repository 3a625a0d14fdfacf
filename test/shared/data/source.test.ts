import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.ts';
import { parseRunData } from '../../../shared/data/source.ts';
import { loadData } from '../../../shared/data/run-data.ts';

describe('validation split', () => {
  it('loadData holds a validation split out of the MNIST training rows and keeps the test split whole', async () => {
    const full = await loadData({ source: { kind: 'mnist' } }, 4, 1);
    const split = await loadData({ source: { kind: 'mnist' }, validation: 0.1 }, 4, 1);
    expect(full.validation).toBeUndefined();
    expect(split.validation!.size + split.train.size).toBe(full.train.size);
    expect(split.validation!.size).toBeCloseTo(full.train.size * 0.1, -1);
    expect(split.test.size).toBe(full.test.size);
    await expect(loadData({ source: parseRunData('synthetic:1,1'), validation: 0.1 }, 4, 1)).rejects.toThrow(ConfigError);
  });
});
