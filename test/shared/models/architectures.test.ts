import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../../shared/config.ts';
import { subset, type Dataset } from '../../../shared/data/dataset.ts';
import { loadMnist } from '../../../shared/data/mnist.ts';
import { textDataset } from '../../../shared/data/text.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import { prepareGradients } from '../../../shared/engine/tfjs-common.ts';
import { generateSamples } from '../../../shared/engine/tfjs-nets/gan.ts';
import { rnnForward } from '../../../shared/engine/tfjs-nets/rnn.ts';
import { initWeights, paramCount, paramShapes } from '../../../shared/models/registry.ts';
import { rnnSpecSchema } from '../../../shared/models/rnn.ts';
import { modelSpecSchema, type ModelSpec } from '../../../shared/models/spec.ts';
import { mulberry32 } from '../../../shared/rng.ts';
import { trainConfig, type TrainConfig } from '../../../shared/train-config.ts';
import { add } from '../../../shared/weights.ts';

const digits = subset(
  loadMnist().train,
  Array.from({ length: 200 }, (_, i) => i),
);
const text = textDataset(readFileSync(new URL('../../../README.md', import.meta.url), 'utf8').slice(0, 4000), 12, 3);
const adam = (lr: number, extra: Partial<TrainConfig> = {}) => trainConfig({ epochs: 1, batchSize: 20, optimizer: 'adam', lr, ...extra });

/** Trains `epochs` single-epoch rounds and returns each epoch's training loss and the final weights. */
async function trainEpochs(spec: ModelSpec, ds: Dataset, config: TrainConfig, epochs: number): Promise<{ losses: number[]; weights: Float32Array }> {
  const engine = await TfjsEngine.create();
  let weights = initWeights(spec, 1);
  const losses: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const r = await engine.train(spec, weights, { dataset: ds }, config, e);
    weights = add(weights, r.delta);
    losses.push(r.metrics.loss);
  }
  return { losses, weights };
}

const classifiers: [string, unknown, Dataset, TrainConfig, number][] = [
  // the sequence classifier: MNIST digits as 28 rows of 28 pixels
  ['simple rnn, digits row by row', { type: 'rnn', cell: 'rnn', seqLen: 28, inputDim: 28, units: 32, outputs: 10 }, digits, adam(0.01), 32 * 60 + 32 + 330],
  ['lstm, digits row by row', { type: 'rnn', cell: 'lstm', seqLen: 28, inputDim: 28, units: 32, outputs: 10 }, digits, adam(0.01), 4 * (32 * 60 + 32) + 330],
  [
    '2-layer gru, digits row by row',
    { type: 'rnn', cell: 'gru', seqLen: 28, inputDim: 28, units: 32, layers: 2, outputs: 10, dropout: 0.1 },
    digits,
    adam(0.01),
    3 * (32 * 60 + 32) + 3 * (32 * 64 + 32) + 330,
  ],
  // the character-level next-character model
  [
    'lstm, next character',
    { type: 'rnn', cell: 'lstm', seqLen: 12, vocab: 97, embed: 16, units: 48, outputs: 97 },
    text,
    adam(0.01),
    97 * 16 + 4 * (48 * 64 + 48) + 48 * 97 + 97,
  ],
  // tokens: 28·32 + 32 input, 28·32 positions, block 2·64 norms + 4·(32·32 + 32) attention + 2112 + 2080 ffn, 64 final norm, 330 output
  [
    'transformer, digits row by row',
    { type: 'transformer', seqLen: 28, inputDim: 28, dModel: 32, heads: 4, ff: 64, outputs: 10, dropout: 0.1 },
    digits,
    adam(0.003, { weightDecay: 1e-4 }),
    928 + 896 + 128 + 4224 + 2112 + 2080 + 64 + 330,
  ],
  [
    'transformer, next character',
    { type: 'transformer', seqLen: 12, vocab: 97, dModel: 32, heads: 2, layers: 2, ff: 64, outputs: 97 },
    text,
    adam(0.003),
    97 * 32 + 12 * 32 + 2 * (128 + 4224 + 2112 + 2080) + 64 + 32 * 97 + 97,
  ],
];

describe('architectures on the tfjs engine', () => {
  for (const [name, raw, ds, config, params] of classifiers) {
    it(`${name}: ${params} parameters, and the training loss falls`, async () => {
      const spec = modelSpecSchema.parse(raw);
      expect(paramCount(spec)).toBe(params);
      const { losses, weights } = await trainEpochs(spec, ds, config, 3);
      expect(losses[2]!).toBeLessThan(losses[0]! * 0.9);
      const engine = await TfjsEngine.create();
      const before = await engine.evaluate(spec, initWeights(spec, 1), { dataset: ds });
      const after = await engine.evaluate(spec, weights, { dataset: ds });
      expect(after.loss).toBeLessThan(before.loss);
      expect(after.accuracy).toBeGreaterThan(before.accuracy!);
    });
  }

  it('trains deterministically and frees every tensor it made', async () => {
    const spec = modelSpecSchema.parse({ type: 'rnn', cell: 'lstm', seqLen: 28, inputDim: 28, units: 8, outputs: 10, dropout: 0.2 });
    const engine = await TfjsEngine.create();
    const w = initWeights(spec, 4);
    await engine.train(spec, w, { dataset: digits }, adam(0.01), 3); // warm-up loads the gradients
    const tensors = tf.memory().numTensors;
    const a = await engine.train(spec, w, { dataset: digits }, adam(0.01), 3);
    const b = await engine.train(spec, w, { dataset: digits }, adam(0.01), 3);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Buffer.from(a.delta.buffer).equals(Buffer.from(b.delta.buffer))).toBe(true);
  });

  it('gan: the generator learns the data distribution (its samples move onto the data)', async () => {
    // 2-D data around (2, −1); the untrained generator's samples sit near the origin
    const n = 512;
    const rng = mulberry32(3);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    const x = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) [x[2 * i], x[2 * i + 1]] = [2 + 0.5 * gauss(), -1 + 0.5 * gauss()];
    const ds: Dataset = { x, y: new Uint8Array(n), size: n, features: 2, classes: 1 };
    const spec = modelSpecSchema.parse({
      type: 'gan',
      latent: 4,
      features: 2,
      generator: { hidden: [16], activation: 'relu' },
      discriminator: { hidden: [16], activation: 'leakyRelu' },
      output: 'linear',
    });
    expect(spec.type === 'gan' && paramCount(spec)).toBe(4 * 16 + 16 + 16 * 2 + 2 + (2 * 16 + 16 + 16 + 1));
    const distance = async (w: Float32Array) => {
      const s = await generateSamples(spec as Extract<ModelSpec, { type: 'gan' }>, w, 1000, 9);
      let mx = 0;
      let my = 0;
      for (let i = 0; i < 1000; i++) [mx, my] = [mx + s[2 * i]! / 1000, my + s[2 * i + 1]! / 1000];
      return Math.hypot(mx - 2, my + 1);
    };
    const start = await distance(initWeights(spec, 1));
    const { losses, weights } = await trainEpochs(spec, ds, trainConfig({ epochs: 1, batchSize: 32, optimizer: 'adam', lr: 0.01, beta1: 0.5 }), 10);
    expect(start).toBeGreaterThan(1.5);
    expect(await distance(weights)).toBeLessThan(start / 2);
    // the discriminator ends near chance (ln 4 per real/fake pair): neither network has won
    expect(losses[9]!).toBeGreaterThan(1);
    // both networks trained: the generator's and the discriminator's parameters all moved
    const engine = await TfjsEngine.create();
    const r = await engine.train(spec, weights, { dataset: ds }, trainConfig({ epochs: 1, batchSize: 32, optimizer: 'adam', lr: 0.01 }), 11);
    const shapes = paramShapes(spec);
    let offset = 0;
    for (const p of shapes) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      expect(
        r.delta.subarray(offset, offset + size).some((v) => v !== 0),
        p.name,
      ).toBe(true);
      offset += size;
    }
    expect(r.metrics.generatorLoss).toBeGreaterThan(0);
  });
});

describe('cells follow their equations (one unit, three steps, by hand)', () => {
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const xs = [1.5, -0.8, 0.4];
  /** Output logits of a 1-unit, 1-feature recurrent model over `xs` whose output layer copies h (kernel [1, −1], bias 0). */
  async function logits(cell: 'rnn' | 'lstm' | 'gru', values: number[]): Promise<number[]> {
    await prepareGradients();
    const spec = rnnSpecSchema.parse({ type: 'rnn', cell, seqLen: xs.length, inputDim: 1, units: 1, outputs: 2 });
    const shapes = paramShapes(spec);
    const flat = [...values, 1, -1, 0, 0];
    let at = 0;
    const params = shapes.map((s) => {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const t = tf.tensor(flat.slice(at, at + size), s.shape as number[]);
      at += size;
      return t;
    });
    expect(at).toBe(flat.length);
    const out = rnnForward(spec)(params, tf.tensor2d([xs]));
    return Array.from(out.dataSync());
  }

  it('rnn: h = tanh(x·w + h·u + b)', async () => {
    const [w, u, b] = [0.7, -0.6, 0.1];
    let h = 0;
    for (const x of xs) h = Math.tanh(x * w + h * u + b);
    expect((await logits('rnn', [w, u, b]))[0]).toBeCloseTo(h, 6);
  });

  it('lstm: [i f g o] = x·W + h·U + b;  c = σ(f)·c + σ(i)·tanh(g);  h = σ(o)·tanh(c)', async () => {
    // kernel [1, 4], recurrent [1, 4], bias [4], gates in the order i f g o
    const w = [0.5, -0.4, 0.3, 0.2];
    const u = [0.3, 0.6, -0.5, 0.4];
    const b = [0.1, 1, -0.2, 0.05];
    let [h, c] = [0, 0];
    for (const x of xs) {
      const z = w.map((wi, k) => x * wi + h * u[k]! + b[k]!);
      c = sigmoid(z[1]!) * c + sigmoid(z[0]!) * Math.tanh(z[2]!);
      h = sigmoid(z[3]!) * Math.tanh(c);
    }
    expect((await logits('lstm', [...w, ...u, ...b]))[0]).toBeCloseTo(h, 6);
  });

  it('gru: z = σ(x·wz + h·uz + bz);  r = σ(x·wr + h·ur + br);  n = tanh(x·wn + (r·h)·un + bn);  h = z·h + (1 − z)·n', async () => {
    const w = [0.6, -0.5, 0.9];
    const u = [0.4, -0.7, 0.8];
    const b = [0.2, 0.1, -0.3];
    let h = 0;
    for (const x of xs) {
      const z = sigmoid(x * w[0]! + h * u[0]! + b[0]!);
      const r = sigmoid(x * w[1]! + h * u[1]! + b[1]!);
      const n = Math.tanh(x * w[2]! + r * h * u[2]! + b[2]!);
      h = z * h + (1 - z) * n;
    }
    expect((await logits('gru', [...w, ...u, ...b]))[0]).toBeCloseTo(h, 6);
  });
});

describe('sequence specs and token data', () => {
  it('refuses a spec with both or neither of inputDim and vocab, and heads that do not divide dModel', () => {
    expect(() => modelSpecSchema.parse({ type: 'rnn', seqLen: 4, units: 2, outputs: 2 })).toThrow(/exactly one of inputDim/);
    expect(() => modelSpecSchema.parse({ type: 'rnn', seqLen: 4, inputDim: 2, vocab: 5, units: 2, outputs: 2 })).toThrow(/exactly one of inputDim/);
    expect(() => modelSpecSchema.parse({ type: 'transformer', seqLen: 4, inputDim: 2, dModel: 10, heads: 3, ff: 8, outputs: 2 })).toThrow(/multiple of heads/);
    expect(() => modelSpecSchema.parse({ type: 'rnn', seqLen: 4, inputDim: 2, embed: 4, units: 2, outputs: 2 })).toThrow(/embed applies to token inputs/);
  });

  it('refuses token ids outside the vocabulary, naming the row and step', async () => {
    const spec = modelSpecSchema.parse({ type: 'rnn', cell: 'gru', seqLen: 3, vocab: 5, units: 2, outputs: 5 });
    const ds: Dataset = { x: Float32Array.from([0, 1, 2, 3, 4, 7]), y: Uint8Array.from([1, 2]), size: 2, features: 3, classes: 5 };
    const engine = await TfjsEngine.create();
    await expect(engine.train(spec, initWeights(spec, 1), { dataset: ds }, adam(0.01), 1)).rejects.toThrow(/row 1, step 2: token 7 is not an id in 0\.\.4/);
  });

  it('text becomes next-character windows over a fixed vocabulary', () => {
    const ds = textDataset('abcd\ne', 3);
    expect(ds.size).toBe(3);
    expect(ds.classes).toBe(97);
    // 'a' = 97 → 67, newline → 1
    expect(Array.from(ds.x.subarray(0, 3))).toEqual([67, 68, 69]);
    expect(Array.from(ds.y)).toEqual([70, 1, 71]);
    expect(() => textDataset('ab', 3)).toThrow(/too short/);
    // CRLF and CR line endings are one newline
    expect(Array.from(textDataset('a\r\nb\rc', 1).y)).toEqual([1, 68, 1, 69]);
  });
});

describe('gan run configs', () => {
  it('refuse early stopping and a target accuracy, which would watch the discriminator', () => {
    const model = { type: 'gan', latent: 8, features: 784 };
    expect(() => resolveRunConfig('test', { model, patience: 3 })).toThrow(/patience: early stopping watches a classifier's accuracy/);
    expect(() => resolveRunConfig('test', { model, targetAccuracy: 0.9 })).toThrow(/targetAccuracy: early stopping watches/);
    expect(resolveRunConfig('test', { model }).model.type).toBe('gan');
  });
});
