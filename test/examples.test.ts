import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunConfig, readConfigFile, resolveRunConfig, runConfigInputSchema } from '../shared/config.ts';
import { enumerateAssignments, gridValues } from '../shared/tuning/enumerate.ts';
import { parseSearchSpace } from '../shared/tuning/index.ts';
import { trialConfig } from '../simulations/tuning/apply.ts';
import { loadData } from '../shared/data/run-data.ts';
import { initWeights, inputSize, outputClasses, paramCount } from '../shared/models/registry.ts';

const dir = new URL('../examples/models/', import.meta.url).pathname;
const expectedParams: Record<string, number> = { 'mlp-2nn.yaml': 199_210, 'cnn-fedavg.yaml': 1_663_370 };

describe('the example model configs the README points to', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('cover every architecture', () => {
    const types = new Set(files.map((f) => loadRunConfig(join(dir, f)).model.type));
    expect([...types].sort()).toEqual(['cnn', 'gan', 'mlp', 'rnn', 'transformer']);
  });

  for (const file of files) {
    it(`${file} is a valid run config whose model fits its data`, async () => {
      const config = loadRunConfig(join(dir, file));
      const count = paramCount(config.model);
      if (expectedParams[file] !== undefined) expect(count).toBe(expectedParams[file]);
      expect(initWeights(config.model, 1)).toHaveLength(count);
      const { test } = await loadData(config.data, 2, config.seed);
      expect(inputSize(config.model)).toBe(test.features);
      expect(outputClasses(config.model) ?? test.classes).toBe(test.classes);
    });
  }
});

describe('examples/run.yaml, every setting with its default', () => {
  it('is a valid run config equal to the defaults', () => {
    expect(loadRunConfig(new URL('../examples/run.yaml', import.meta.url).pathname)).toEqual(loadRunConfig(undefined));
  });

  it('names every setting the schema takes (set to its default, or commented out where it has none)', () => {
    const text = readFileSync(new URL('../examples/run.yaml', import.meta.url), 'utf8');
    expect(Object.keys(runConfigInputSchema.shape).filter((key) => !new RegExp(`^#?\\s*${key}:`, 'm').test(text))).toEqual([]);
  });

  it('a partial train: section takes the defaults of the fields it leaves out', () => {
    const config = resolveRunConfig('test', { train: { batchSize: 16 } });
    expect(config.train).toEqual({ ...loadRunConfig(undefined).train, batchSize: 16 });
    expect(() => resolveRunConfig('test', { train: { batchSize: 0 } })).toThrow(/train\.batchSize/);
  });
});

describe('the example search space', () => {
  it('parses, and its every grid point is a valid run config', () => {
    const doc = readConfigFile(new URL('../examples/tune/space.yaml', import.meta.url).pathname);
    const { base, ...rest } = doc as { base: Record<string, unknown> };
    const space = parseSearchSpace(rest, 'examples/tune/space.yaml');
    expect(space.params.map((p) => p.name)).toEqual(['lr', 'batchSize', 'epochs', 'optimizer', 'strategy', 'mu']);
    let n = 0;
    for (const a of enumerateAssignments(space, (p) => gridValues(p, 2))) {
      expect(trialConfig(base, space.params, a).data.validation).toBe(0.1);
      n++;
    }
    // 2 · 2 · 2 · 2 · (fedavg + fedprox × 2 μ + fedavgm)
    expect(n).toBe(16 * 4);
  });
});
