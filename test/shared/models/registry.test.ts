import { describe, expect, it } from 'vitest';
import { initWeights, inputSize, MODELS, outputClasses, paramCount, paramShapes, vocabulary } from '../../../shared/models/registry.ts';
import { modelSpecSchema, type ModelSpec } from '../../../shared/models/spec.ts';
import { sizeOf } from '../../../shared/weights.ts';

/** One small spec of every architecture. */
const specs: ModelSpec[] = [
  { type: 'mlp', inputs: 6, hidden: [4], outputs: 3, activation: 'tanh' },
  modelSpecSchema.parse({ type: 'cnn', input: [4, 4, 2], layers: [{ type: 'conv', filters: 3, kernel: 3 }, { type: 'maxpool' }], outputs: 2 }),
  modelSpecSchema.parse({ type: 'rnn', seqLen: 5, vocab: 11, units: 4, outputs: 11 }),
  modelSpecSchema.parse({ type: 'transformer', seqLen: 3, inputDim: 2, dModel: 4, heads: 2, ff: 8, outputs: 2 }),
  modelSpecSchema.parse({ type: 'gan', latent: 2, features: 5 }),
];

describe('the model registry', () => {
  it('has one entry per spec type, under that type, whose schema takes its specs', () => {
    expect(Object.keys(MODELS).sort()).toEqual(modelSpecSchema.options.map((o) => o.shape.type.value).sort());
    for (const spec of specs) {
      const entry = MODELS[spec.type];
      expect(entry.type).toBe(spec.type);
      expect(entry.schema.safeParse(spec).success).toBe(true);
    }
  });

  it('lays out, counts and initialises every architecture consistently', () => {
    for (const spec of specs) {
      const shapes = paramShapes(spec);
      expect(
        shapes.every((p) => Object.keys(p).join() === 'name,shape'),
        spec.type,
      ).toBe(true);
      expect(paramCount(spec)).toBe(shapes.reduce((n, p) => n + sizeOf(p.shape), 0));
      expect(initWeights(spec, 3)).toHaveLength(paramCount(spec));
      expect(Buffer.from(initWeights(spec, 3).buffer).equals(Buffer.from(initWeights(spec, 3).buffer))).toBe(true);
    }
  });

  it('knows the data each takes', () => {
    expect(specs.map(inputSize)).toEqual([6, 32, 5, 6, 5]);
    expect(specs.map(outputClasses)).toEqual([3, 2, 11, 2, undefined]);
    expect(specs.map(vocabulary)).toEqual([undefined, undefined, 11, undefined, undefined]);
  });
});
