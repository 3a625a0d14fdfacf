import { describe, expect, it } from 'vitest';
import { expectSameGradients } from '../gradients.ts';
import type { Dataset } from '../../../../shared/data/dataset.ts';
import { loadMnist } from '../../../../shared/data/mnist.ts';
import { partitionIid } from '../../../../shared/data/partition.ts';
import { decideEngine, EngineFactory } from '../../../../shared/engine/factory.ts';
import { SimdEngine } from '../../../../shared/engine/simd/simd-engine.ts';
import { TfjsEngine } from '../../../../shared/engine/tfjs-engine.ts';
import type { MlpSpec } from '../../../../shared/models/mlp.ts';
import { initWeights } from '../../../../shared/models/registry.ts';
import { DEFAULT_MODEL } from '../../../../shared/models/spec.ts';
import { mulberry32 } from '../../../../shared/rng.ts';
import { trainConfig } from '../../../../shared/train-config.ts';
import { add } from '../../../../shared/weights.ts';

const simd = SimdEngine.create();
const tfjs = await TfjsEngine.create();
const sgd = trainConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0 });

function randomData(rows: number, features: number, classes: number, seed: number): Dataset {
  const rng = mulberry32(seed);
  return {
    x: Float32Array.from({ length: rows * features }, () => (rng() < 0.3 ? 0 : rng() * 2 - 1)),
    y: Uint8Array.from({ length: rows }, () => Math.floor(rng() * classes)),
    size: rows,
    features,
    classes,
  };
}

describe('simd engine', () => {
  it('computes the same gradients as the tfjs engine on random specs (relative error ≤ 1e-4 per tensor)', async () => {
    const rng = mulberry32(2024);
    const pick = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
    for (let trial = 0; trial < 12; trial++) {
      const spec: MlpSpec = {
        type: 'mlp',
        inputs: pick(1, 60),
        hidden: Array.from({ length: pick(0, 3) }, () => pick(1, 40)),
        outputs: pick(2, 12),
        activation: (['relu', 'tanh', 'sigmoid'] as const)[pick(0, 2)]!,
      };
      const rows = pick(1, 50);
      const data = randomData(rows, spec.inputs, spec.outputs, trial);
      const w = initWeights(spec, trial);
      for (let i = 0; i < w.length; i++) w[i]! += (rng() - 0.5) * 0.1;
      // one full-batch step with lr 1: delta = −gradient
      const cfg = { ...sgd, batchSize: rows, lr: 1 };
      const a = await simd.train(spec, w, { dataset: data }, cfg, 1);
      const b = await tfjs.train(spec, w, { dataset: data }, cfg, 1);
      expectSameGradients(spec, a.delta, b.delta, 1e-4, JSON.stringify(spec));
      expect(a.metrics.loss).toBeCloseTo(b.metrics.loss, 4);
    }
  });

  it('matches tfjs over a whole MNIST epoch, with and without momentum, and is deterministic', async () => {
    const { train, test } = loadMnist();
    const shard = { dataset: train, indices: partitionIid(train.size, 4, 3)[1]! };
    const w0 = initWeights(DEFAULT_MODEL, 5);
    for (const momentum of [0, 0.9]) {
      const a = await simd.train(DEFAULT_MODEL, w0, shard, { ...sgd, momentum }, 7);
      const again = await simd.train(DEFAULT_MODEL, w0, shard, { ...sgd, momentum }, 7);
      const b = await tfjs.train(DEFAULT_MODEL, w0, shard, { ...sgd, momentum }, 7);
      expect(Buffer.from(a.delta.buffer).equals(Buffer.from(again.delta.buffer))).toBe(true);
      let diff = 0;
      for (let i = 0; i < a.delta.length; i++) diff = Math.max(diff, Math.abs(a.delta[i]! - b.delta[i]!));
      expect(diff).toBeLessThan(1e-4);
      const ea = await simd.evaluate(DEFAULT_MODEL, add(w0, a.delta), { dataset: test });
      const eb = await tfjs.evaluate(DEFAULT_MODEL, add(w0, a.delta), { dataset: test });
      expect(ea.accuracy).toBe(eb.accuracy);
      expect(ea.loss).toBeCloseTo(eb.loss, 5);
    }
    const other = await simd.train(DEFAULT_MODEL, w0, shard, sgd, 8);
    const first = await simd.train(DEFAULT_MODEL, w0, shard, sgd, 7);
    expect(Buffer.from(other.delta.buffer).equals(Buffer.from(first.delta.buffer))).toBe(false);
  });

  it('FedProx: both engines apply the same proximal step, and a larger μ keeps the local model closer to the global one', async () => {
    const { train } = loadMnist();
    const shard = { dataset: train, indices: partitionIid(train.size, 16, 3)[0]! };
    const w0 = initWeights(DEFAULT_MODEL, 5);
    const norm = (d: Float32Array) => Math.sqrt(d.reduce((s, v) => s + v * v, 0));
    const sizes: number[] = [];
    for (const mu of [0, 1, 10]) {
      for (const momentum of [0, 0.9]) {
        const cfg = { ...sgd, mu, momentum, epochs: 2 };
        const a = await simd.train(DEFAULT_MODEL, w0, shard, cfg, 3);
        const b = await tfjs.train(DEFAULT_MODEL, w0, shard, cfg, 3);
        let diff = 0;
        for (let i = 0; i < a.delta.length; i++) diff = Math.max(diff, Math.abs(a.delta[i]! - b.delta[i]!));
        expect(diff, `mu ${mu} momentum ${momentum}`).toBeLessThan(1e-4);
        if (momentum === 0) sizes.push(norm(a.delta));
      }
    }
    expect(sizes[1]!).toBeLessThan(sizes[0]!);
    expect(sizes[2]!).toBeLessThan(sizes[1]!);
  });

  it('dropout from the spec: both engines train with it, deterministically; evaluation never drops', async () => {
    const { train, test } = loadMnist();
    const shard = { dataset: train, indices: partitionIid(train.size, 8, 4)[2]! };
    const dropped: MlpSpec = { ...DEFAULT_MODEL, dropout: 0.3 } as MlpSpec;
    const w0 = initWeights(DEFAULT_MODEL, 9);
    for (const engine of [simd, tfjs]) {
      const a = await engine.train(dropped, w0, shard, sgd, 5);
      const again = await engine.train(dropped, w0, shard, sgd, 5);
      const plain = await engine.train(DEFAULT_MODEL, w0, shard, sgd, 5);
      expect(Buffer.from(a.delta.buffer).equals(Buffer.from(again.delta.buffer)), engine.name).toBe(true);
      expect(Buffer.from(a.delta.buffer).equals(Buffer.from(plain.delta.buffer)), engine.name).toBe(false);
      const after = add(w0, a.delta);
      const e1 = await engine.evaluate(dropped, after, { dataset: test });
      const e2 = await engine.evaluate(DEFAULT_MODEL, after, { dataset: test });
      expect(e1, engine.name).toEqual(e2);
      expect(e1.accuracy, engine.name).toBeGreaterThan(0.6); // one epoch of 1,000 digits: ≈ 0.69 with or without dropout
      expect(a.metrics.loss, engine.name).toBeGreaterThan(plain.metrics.loss); // training loss is measured with dropout on
    }
  });

  it('refuses malformed inputs with a clear error instead of trapping', async () => {
    const spec: MlpSpec = { type: 'mlp', inputs: 4, hidden: [3], outputs: 2, activation: 'relu' };
    const data = randomData(5, 4, 2, 1);
    await expect(simd.train(spec, new Float32Array(3), { dataset: data }, sgd, 1)).rejects.toThrow(/got 3 weights, the model has 23/);
    await expect(simd.train({ ...spec, inputs: 5 }, initWeights({ ...spec, inputs: 5 }, 1), { dataset: data }, sgd, 1)).rejects.toThrow(
      /takes 5 inputs but the data has 4/,
    );
    await expect(simd.evaluate({ ...spec, outputs: 3 }, initWeights({ ...spec, outputs: 3 }, 1), { dataset: data })).rejects.toThrow(
      /predicts 3 classes but the data has 2/,
    );
    await expect(simd.train(spec, initWeights(spec, 1), { dataset: data, indices: new Uint32Array(0) }, sgd, 1)).rejects.toThrow(/empty shard/);
  });

  it('a kernel trap fails that task only: the instance is replaced and the next task works', async () => {
    const engine = SimdEngine.create();
    const spec: MlpSpec = { type: 'mlp', inputs: 4, hidden: [3], outputs: 2, activation: 'relu' };
    const data = randomData(8, 4, 2, 3);
    const good = await engine.train(spec, initWeights(spec, 1), { dataset: data }, sgd, 1);
    const inner = engine as unknown as { k: Record<string, unknown> };
    inner.k = {
      ...inner.k,
      gemm: () => {
        throw new WebAssembly.RuntimeError('memory access out of bounds');
      },
    };
    await expect(engine.train(spec, initWeights(spec, 1), { dataset: data }, sgd, 1)).rejects.toThrow(/a SIMD kernel trapped \(memory access out of bounds\)/);
    const after = await engine.train(spec, initWeights(spec, 1), { dataset: data }, sgd, 1);
    expect(Buffer.from(after.delta.buffer).equals(Buffer.from(good.delta.buffer))).toBe(true);
  });

  it('auto-selects simd for an MLP without a GPU; --engine and --backend force a choice', async () => {
    expect(decideEngine(DEFAULT_MODEL, 'auto')).toMatchObject({ engine: 'simd' });
    expect(decideEngine(DEFAULT_MODEL, 'tfjs')).toMatchObject({ engine: 'tfjs', reason: 'forced with --engine tfjs' });
    expect(decideEngine(DEFAULT_MODEL, 'auto', 'wasm')).toMatchObject({ engine: 'tfjs' });
    expect(decideEngine(DEFAULT_MODEL, 'simd', 'wasm')).toMatchObject({ engine: 'simd' });
    expect((await new EngineFactory().forSpec(DEFAULT_MODEL)).name).toBe('simd');
    expect((await new EngineFactory({ engine: 'tfjs' }).forSpec(DEFAULT_MODEL)).name).toBe('tfjs');
  });
});
