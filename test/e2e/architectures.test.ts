import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.ts';
import { ganShapes } from '../../shared/models/gan.ts';
import { modelSpecSchema } from '../../shared/models/spec.ts';
import { initWeights } from '../../shared/models/registry.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-arch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('federated runs of the sequence and generative architectures', () => {
  it('a character-level LSTM learns the next character across clients (text data, FedAvg)', async () => {
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, readFileSync(new URL('../../README.md', import.meta.url), 'utf8').slice(0, 4000));
    const model = { type: 'rnn', cell: 'lstm', seqLen: 10, vocab: 97, embed: 16, units: 32, outputs: 97 };
    const config = testConfig({
      clients: 2,
      rounds: 3,
      data: `text:10:${corpus}`,
      model: modelSpecSchema.parse(model),
      train: { epochs: 2, batchSize: 32, optimizer: 'adam', lr: 0.02 },
    });
    const r = await simulate(config, { log: silentLogger, writeHistory: false, workers: 2 });
    expect(r.engine).not.toBe('simd');
    const [first, , last] = r.history.rounds;
    expect(last!.loss!).toBeLessThan(first!.loss!);
    expect(last!.accuracy!).toBeGreaterThan(0.2); // the most frequent character alone scores about 0.15
    expect(r.agents.every((a) => a.status === 'fulfilled')).toBe(true);
  });

  it('a GAN trains federated: both the generator and the discriminator are averaged', async () => {
    const spec = modelSpecSchema.parse({
      type: 'gan',
      latent: 16,
      features: 784,
      generator: { hidden: [32], activation: 'relu' },
      discriminator: { hidden: [32], activation: 'leakyRelu', dropout: 0.2 },
    });
    const config = testConfig({ clients: 2, rounds: 2, model: spec, train: { epochs: 1, batchSize: 64, optimizer: 'adam', lr: 0.0005, beta1: 0.5 } });
    const r = await simulate(config, { log: silentLogger, writeHistory: false, workers: 2 });
    expect(r.history.rounds).toHaveLength(2);
    expect(r.history.rounds.every((x) => x.clients === 2 && x.trainLoss !== null && x.accuracy !== null && x.trainGeneratorLoss! > 0)).toBe(true);
    const init = initWeights(spec, config.seed);
    let offset = 0;
    for (const p of ganShapes(spec as Extract<typeof spec, { type: 'gan' }>)) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      const moved = r.weights.subarray(offset, offset + size).some((v, i) => v !== init[offset + i]);
      expect(moved, p.name).toBe(true);
      offset += size;
    }
  });
});
