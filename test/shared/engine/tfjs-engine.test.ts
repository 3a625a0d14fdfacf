import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../../shared/data/mnist.ts';
import { partitionIid } from '../../../shared/data/partition.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import { initWeights } from '../../../shared/models/registry.ts';
import { DEFAULT_MODEL, type ModelSpec } from '../../../shared/models/spec.ts';
import { trainConfig } from '../../../shared/train-config.ts';
import { add } from '../../../shared/weights.ts';
import { mulberry32 } from '../../../shared/rng.ts';

const { train, test } = loadMnist();
const cfg = trainConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0 });

describe('tfjs engine', () => {
  it('learns MNIST from a shard, deterministically, without leaking tensors', async () => {
    const engine = await TfjsEngine.create();
    const shard = partitionIid(train.size, 4, 1)[0]!;
    const w0 = initWeights(DEFAULT_MODEL, 3);
    const before = await engine.evaluate(DEFAULT_MODEL, w0, { dataset: test });
    const tensors = tf.memory().numTensors;
    const r1 = await engine.train(DEFAULT_MODEL, w0, { dataset: train, indices: shard }, cfg, 9);
    const r2 = await engine.train(DEFAULT_MODEL, w0, { dataset: train, indices: shard }, cfg, 9);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Buffer.from(r1.delta.buffer).equals(Buffer.from(r2.delta.buffer))).toBe(true);
    expect(r1.numExamples).toBe(2000);
    const after = await engine.evaluate(DEFAULT_MODEL, add(w0, r1.delta), { dataset: test });
    expect(before.accuracy).toBeLessThan(0.3);
    expect(after.accuracy).toBeGreaterThan(0.75);
    expect(after.loss).toBeLessThan(before.loss);
    expect(r1.metrics.loss).toBeGreaterThan(0);
    expect(r1.metrics.accuracy).toBeGreaterThan(0.5);
  });

  it('computes exact gradients for relu, tanh and sigmoid (checked by finite differences)', async () => {
    const engine = await TfjsEngine.create();
    // a tiny problem: 8 rows, 5 features, 3 classes, hidden [4, 3]
    const n = 8;
    const rng = mulberry32(5);
    const dataset = {
      x: Float32Array.from({ length: n * 5 }, () => rng() * 2 - 1),
      y: Uint8Array.from({ length: n }, (_, i) => i % 3),
      size: n,
      features: 5,
      classes: 3,
    };
    for (const activation of ['relu', 'tanh', 'sigmoid'] as const) {
      const spec: ModelSpec = { type: 'mlp', inputs: 5, hidden: [4, 3], outputs: 3, activation };
      const w = initWeights(spec, 11);
      for (let i = 0; i < w.length; i++) w[i]! += (rng() - 0.5) * 0.2; // non-zero biases too
      // one full-batch step with lr 1: delta = −∇(mean loss)
      const { delta } = await engine.train(spec, w, { dataset }, { ...cfg, batchSize: n, lr: 1 }, 1);
      const eps = 1e-3;
      for (let i = 0; i < w.length; i += 3) {
        const plus = Float32Array.from(w);
        const minus = Float32Array.from(w);
        plus[i]! += eps;
        minus[i]! -= eps;
        const numeric = ((await engine.evaluate(spec, plus, { dataset })).loss - (await engine.evaluate(spec, minus, { dataset })).loss) / (2 * eps);
        expect(Math.abs(-delta[i]! - numeric), `${activation} parameter ${i}`).toBeLessThan(1e-3);
      }
    }
  });

  it('momentum SGD still lowers the loss', async () => {
    const engine = await TfjsEngine.create();
    const spec: ModelSpec = { type: 'mlp', inputs: 784, hidden: [32], outputs: 10, activation: 'tanh' };
    const w0 = initWeights(spec, 1);
    const r = await engine.train(spec, w0, { dataset: train, indices: partitionIid(train.size, 8, 2)[0]! }, { ...cfg, epochs: 2, momentum: 0.9, lr: 0.01 }, 1);
    const before = await engine.evaluate(spec, w0, { dataset: test });
    const after = await engine.evaluate(spec, add(w0, r.delta), { dataset: test });
    expect(after.loss).toBeLessThan(before.loss * 0.7);
  });

  it('refuses data whose shape does not match the model', async () => {
    const engine = await TfjsEngine.create();
    const spec: ModelSpec = { type: 'mlp', inputs: 10, hidden: [4], outputs: 10, activation: 'relu' };
    await expect(engine.train(spec, initWeights(spec, 1), { dataset: train }, cfg, 1)).rejects.toThrow(/takes 10 inputs but the data has 784 features/);
    await expect(engine.train(DEFAULT_MODEL, initWeights(DEFAULT_MODEL, 1), { dataset: train, indices: new Uint32Array(0) }, cfg, 1)).rejects.toThrow(
      /empty shard/,
    );
  });
});
