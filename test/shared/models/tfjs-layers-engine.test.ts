import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { decideEngine } from '../../../shared/engine/factory.ts';
import { simdUnsupported } from '../../../shared/engine/simd/simd-engine.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import { inputSize, paramShapes } from '../../../shared/models/registry.ts';
import type { TfjsLayersSpec } from '../../../shared/models/tfjs-layers.ts';
import { tfjsModelSpec } from '../../../shared/models/tfjs-layers-api.ts';
import { trainConfig } from '../../../shared/train-config.ts';
import { add, sizeOf } from '../../../shared/weights.ts';
import { functionalModel, separable, sequentialModel } from '../../fixtures/tfjs-model/models.ts';

const engine = await TfjsEngine.create();
const data = { dataset: separable(120, 4, 3) };
const adam = trainConfig({ epochs: 4, batchSize: 16, optimizer: 'adam', lr: 0.02 });

/** Per weight name, the slice of a flat vector. */
function byName(spec: TfjsLayersSpec, flat: Float32Array): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  let at = 0;
  for (const p of paramShapes(spec)) {
    out[p.name] = flat.subarray(at, at + sizeOf(p.shape));
    at += sizeOf(p.shape);
  }
  return out;
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('the tfjs engine on a tfjs layers model', () => {
  it('trains it (loss falls), reproducibly from the seed, predicts what the model itself predicts, and leaks no tensors', async () => {
    const model = sequentialModel();
    const { spec, weights } = await tfjsModelSpec(model);
    const before = await engine.evaluate(spec, weights, data);
    const r1 = await engine.train(spec, weights, data, adam, 7);
    const tensors = tf.memory().numTensors;
    const r2 = await engine.train(spec, weights, data, adam, 7);
    const r3 = await engine.train(spec, weights, data, adam, 8);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(same(r1.delta, r2.delta)).toBe(true);
    expect(same(r1.delta, r3.delta)).toBe(false);
    const trained = add(weights, r1.delta);
    const after = await engine.evaluate(spec, trained, data);
    expect(after.loss).toBeLessThan(before.loss * 0.5);
    expect(after.accuracy).toBeGreaterThan(0.9);
    expect(r1.metrics).toMatchObject({ epochs: 4 });
    // the engine's probabilities are the model's own, with the trained weights set in it
    const shapes = paramShapes(spec);
    model.setWeights(Object.values(byName(spec, trained)).map((w, i) => tf.tensor(w, shapes[i]!.shape as number[])));
    const own = (model.predict(tf.tensor2d(data.dataset.x, [120, 4])) as tf.Tensor).dataSync();
    const probs = await engine.predict(spec, trained, data);
    expect(Math.max(...probs.map((p, i) => Math.abs(p - own[i]!)))).toBeLessThan(1e-5);
  });

  it("gives an image model its rows in the model's own input shape", async () => {
    const conv = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
      ],
    });
    const { spec, weights } = await tfjsModelSpec(conv);
    expect(inputSize(spec)).toBe(36);
    const images = { dataset: separable(90, 36, 3) };
    const before = await engine.evaluate(spec, weights, images);
    const r = await engine.train(spec, weights, images, adam, 2);
    expect((await engine.evaluate(spec, add(weights, r.delta), images)).loss).toBeLessThan(before.loss);
  });

  it('leaves frozen layers untouched (a zero delta) and trains the rest; batch-norm statistics travel in the delta unless frozen', async () => {
    const { spec, weights } = await tfjsModelSpec(functionalModel());
    const free = byName(spec, (await engine.train(spec, weights, data, adam, 3)).delta);
    expect(Object.entries(free).filter(([, d]) => d.every((v) => v === 0))).toEqual([]);
    const frozen = byName(spec, (await engine.train(spec, weights, data, { ...adam, frozen: ['hidden', 'norm'] }, 3)).delta);
    const zero = Object.entries(frozen)
      .filter(([, d]) => d.every((v) => v === 0))
      .map(([name]) => name);
    expect(zero.sort()).toEqual(['hidden/bias', 'hidden/kernel', 'norm/beta', 'norm/gamma', 'norm/moving_mean', 'norm/moving_variance']);
    expect(frozen['head/kernel']!.some((v) => v !== 0)).toBe(true);
  });

  it("trains with the spec's loss and honours FedProx's proximal pull", async () => {
    const { spec, weights } = await tfjsModelSpec(sequentialModel());
    const mse: TfjsLayersSpec = { ...spec, loss: 'meanSquaredError' };
    const before = await engine.evaluate(mse, weights, data);
    expect(before.loss).toBeLessThan(0.5); // a mean squared error of probabilities, not a cross-entropy
    const r = await engine.train(mse, weights, data, adam, 1);
    expect((await engine.evaluate(mse, add(weights, r.delta), data)).loss).toBeLessThan(before.loss);
    const norm = (d: Float32Array) => Math.hypot(...d);
    const plain = await engine.train(spec, weights, data, { ...adam, lr: 0.05 }, 1);
    const pulled = await engine.train(spec, weights, data, { ...adam, lr: 0.05, mu: 5 }, 1);
    expect(norm(pulled.delta)).toBeLessThan(norm(plain.delta));
  });

  it("adds the layers' regularization losses and applies their weight constraints, as model.fit does", async () => {
    const sgd = trainConfig({ epochs: 3, batchSize: 16, optimizer: 'sgd', lr: 0.5 });
    /** The first layer's kernel [4, 8] after training, from all-ones kernels. */
    const trainedKernel = async (extra: Partial<Parameters<typeof tf.layers.dense>[0]>) => {
      const dense = { kernelInitializer: 'ones', activation: 'relu' } as const;
      const m = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [4], units: 8, name: 'a', ...dense, ...extra }),
          tf.layers.dense({ units: 3, name: 'b', ...dense, activation: 'softmax' }),
        ],
      });
      const { spec, weights } = await tfjsModelSpec(m);
      const r = await engine.train(spec, weights, data, sgd, 1);
      return add(weights, r.delta).subarray(0, 32);
    };
    const l1 = (w: Float32Array) => w.reduce((a, b) => a + Math.abs(b), 0);
    const columnNorms = (w: Float32Array) => Array.from({ length: 8 }, (_, j) => Math.hypot(...Array.from({ length: 4 }, (_, i) => w[i * 8 + j]!)));
    const plain = await trainedKernel({});
    expect(l1(await trainedKernel({ kernelRegularizer: tf.regularizers.l2({ l2: 0.5 }) }))).toBeLessThan(l1(plain) / 4);
    expect(Math.max(...columnNorms(plain))).toBeGreaterThan(1);
    expect(Math.max(...columnNorms(await trainedKernel({ kernelConstraint: tf.constraints.maxNorm({ maxValue: 0.5, axis: 0 }) })))).toBeLessThan(0.5 + 1e-5);
  });

  it('refuses a spec whose weight list does not match its topology, and data that does not fit it', async () => {
    const { spec, weights } = await tfjsModelSpec(sequentialModel());
    const renamed: TfjsLayersSpec = { ...spec, weights: spec.weights.map((w, i) => (i === 0 ? { ...w, name: 'dense_9/kernel' } : w)) };
    await expect(engine.train(renamed, weights, data, adam, 1)).rejects.toThrow(
      /the tfjs model cannot be built: the spec lists weight dense_9\/kernel, which the topology's layers do not have/,
    );
    const reshaped: TfjsLayersSpec = { ...spec, weights: spec.weights.map((w, i) => (i === 1 ? { ...w, shape: [15] } : w)) };
    await expect(engine.evaluate(reshaped, weights.subarray(1), data)).rejects.toThrow(
      /weight dense_1\/bias has shape \[16\] in the topology, \[15\] in the spec/,
    );
    await expect(engine.train(spec, weights, { dataset: separable(30, 5, 3) }, adam, 1)).rejects.toThrow(
      /the model takes 4 inputs but the data has 5 features/,
    );
  });

  it('runs on tfjs only: auto picks tfjs, a forced simd engine is a clear error', async () => {
    const { spec } = await tfjsModelSpec(sequentialModel());
    expect(simdUnsupported(spec)).toBe('a tfjs layers model (model type "tfjs") runs on the tfjs engine only');
    expect(decideEngine(spec, 'auto', undefined).engine).toBe('tfjs');
    expect(() => decideEngine(spec, 'simd')).toThrow(
      '--engine simd cannot run this model: a tfjs layers model (model type "tfjs") runs on the tfjs engine only',
    );
  });
});
