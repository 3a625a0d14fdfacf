import { describe, expect, it } from 'vitest';
import { expectSameGradients, randomDataset } from './gradients.ts';
import type { Dataset } from '../../../shared/data/dataset.ts';
import { loadMnist } from '../../../shared/data/mnist.ts';
import { SimdEngine } from '../../../shared/engine/simd/simd-engine.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import { cnnSpecSchema, FEDAVG_CNN, type CnnSpec } from '../../../shared/models/cnn.ts';
import { initWeights, paramCount, paramShapes } from '../../../shared/models/registry.ts';
import { modelSpecSchema } from '../../../shared/models/spec.ts';
import { mulberry32 } from '../../../shared/rng.ts';
import { trainConfig } from '../../../shared/train-config.ts';
import { add } from '../../../shared/weights.ts';

const simd = SimdEngine.create();
const tfjs = await TfjsEngine.create();
const sgd = trainConfig({ epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 1, momentum: 0 });

/** Random images with no exact zeros (randomDataset), shaped [h, w, c]. */
function images(rows: number, [h, w, c]: readonly number[], classes: number, seed: number): Dataset {
  return randomDataset(rows, h! * w! * c!, classes, seed);
}

describe('CNN', () => {
  it('the FedAvg CNN has exactly 1,663,370 parameters in the Keras layout', () => {
    expect(paramCount(FEDAVG_CNN)).toBe(1_663_370);
    expect(paramShapes(FEDAVG_CNN).map((p) => p.shape)).toEqual([[5, 5, 1, 32], [32], [5, 5, 32, 64], [64], [3136, 512], [512], [512, 10], [10]]);
    expect(modelSpecSchema.parse(FEDAVG_CNN)).toEqual(FEDAVG_CNN);
  });

  it('rejects impossible geometry with the layer and the reason', () => {
    const bad = (layers: unknown[], input = [28, 28, 1]) => cnnSpecSchema.safeParse({ type: 'cnn', input, layers, outputs: 10 });
    expect(bad([{ type: 'conv', filters: 4, kernel: 4 }]).error?.issues[0]?.message).toMatch(/'same' padding needs an odd kernel, got 4/);
    expect(bad([{ type: 'maxpool' }], [7, 7, 1]).error?.issues[0]?.message).toMatch(/even height and width, got 7×7/);
    expect(
      bad([
        { type: 'dense', units: 4 },
        { type: 'conv', filters: 2, kernel: 3 },
      ]).error?.issues[0]?.message,
    ).toMatch(/cannot follow a dense layer/);
    expect(bad([{ type: 'conv', filters: 2, kernel: 9, padding: 'valid' }], [5, 5, 1]).error?.issues[0]?.path).toEqual(['layers', 0]);
  });

  it('simd and tfjs compute the same gradients on random CNNs (relative error ≤ 1e-4 per tensor)', async () => {
    const rng = mulberry32(77);
    const pick = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
    for (let trial = 0; trial < 6; trial++) {
      const side = 2 * pick(3, 5);
      const spec: CnnSpec = cnnSpecSchema.parse({
        type: 'cnn',
        input: [side, side, pick(1, 3)],
        layers: [
          { type: 'conv', filters: pick(1, 9), kernel: [1, 3, 5][pick(0, 2)], padding: 'same', activation: (['relu', 'tanh', 'sigmoid'] as const)[pick(0, 2)] },
          { type: 'maxpool' },
          { type: 'conv', filters: pick(1, 6), kernel: 3, padding: trial % 2 ? 'valid' : 'same' },
          { type: 'dense', units: pick(2, 20) },
        ],
        outputs: pick(2, 6),
      });
      const rows = pick(2, 9);
      const data = images(rows, spec.input, spec.outputs, trial);
      const w = initWeights(spec, trial);
      const cfg = { ...sgd, batchSize: rows };
      const a = await simd.train(spec, w, { dataset: data }, cfg, 1);
      const b = await tfjs.train(spec, w, { dataset: data }, cfg, 1);
      expectSameGradients(spec, a.delta, b.delta, 1e-4, JSON.stringify(spec.layers));
    }
  });

  it('the FedAvg CNN learns MNIST on both engines, deterministically', async () => {
    const { train, test } = loadMnist();
    const shard = { dataset: train, indices: Uint32Array.from({ length: 300 }, (_, i) => i) };
    const w0 = initWeights(FEDAVG_CNN, 3);
    const cfg = trainConfig({ epochs: 1, batchSize: 10, optimizer: 'sgd', lr: 0.05, momentum: 0 });
    const a = await simd.train(FEDAVG_CNN, w0, shard, cfg, 5);
    const again = await simd.train(FEDAVG_CNN, w0, shard, cfg, 5);
    expect(Buffer.from(a.delta.buffer).equals(Buffer.from(again.delta.buffer))).toBe(true);
    const held = { dataset: test, indices: Uint32Array.from({ length: 500 }, (_, i) => i) };
    const before = await simd.evaluate(FEDAVG_CNN, w0, held);
    const after = await simd.evaluate(FEDAVG_CNN, add(w0, a.delta), held);
    const viaTfjs = await tfjs.evaluate(FEDAVG_CNN, add(w0, a.delta), held);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.accuracy).toBeGreaterThan(0.4);
    expect(Math.abs(viaTfjs.accuracy! - after.accuracy!)).toBeLessThanOrEqual(0.004);
  });

  it('dense-layer dropout in a CNN trains deterministically in both engines', async () => {
    const spec = cnnSpecSchema.parse({
      type: 'cnn',
      input: [8, 8, 1],
      layers: [{ type: 'conv', filters: 3, kernel: 3 }, { type: 'maxpool' }, { type: 'dense', units: 16, dropout: 0.5 }],
      outputs: 3,
    });
    const plain = cnnSpecSchema.parse({ ...spec, layers: [spec.layers[0], spec.layers[1], { type: 'dense', units: 16 }] });
    const data = images(20, spec.input, 3, 1);
    const w = initWeights(spec, 2);
    const cfg = { ...sgd, lr: 0.05, batchSize: 5 };
    for (const engine of [simd, tfjs]) {
      const a = await engine.train(spec, w, { dataset: data }, cfg, 3);
      const b = await engine.train(spec, w, { dataset: data }, cfg, 3);
      const c = await engine.train(plain, w, { dataset: data }, cfg, 3);
      expect(Buffer.from(a.delta.buffer).equals(Buffer.from(b.delta.buffer)), engine.name).toBe(true);
      expect(Buffer.from(a.delta.buffer).equals(Buffer.from(c.delta.buffer)), engine.name).toBe(false);
    }
  });
});
