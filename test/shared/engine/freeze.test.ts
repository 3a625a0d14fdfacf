import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FitOptions } from '../../../shared/engine/engine.ts';
import { SimdEngine } from '../../../shared/engine/simd/simd-engine.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import { initWeights, paramShapes } from '../../../shared/models/registry.ts';
import type { ModelSpec } from '../../../shared/models/spec.ts';
import { trainConfig, type TrainConfig } from '../../../shared/train-config.ts';
import { gatherTrainable, trainableLayout } from '../../../shared/trainable.ts';
import type { Dataset } from '../../../shared/data/dataset.ts';
import { randomDataset } from './gradients.ts';
import { sizeOf } from '../../../shared/weights.ts';

const simd = SimdEngine.create();
const tfjs = await TfjsEngine.create();

const data = randomDataset;

const mlp: ModelSpec = { type: 'mlp', inputs: 12, hidden: [10, 8], outputs: 3, activation: 'tanh' };
const cnn: ModelSpec = {
  type: 'cnn',
  input: [6, 6, 1],
  layers: [
    { type: 'conv', filters: 3, kernel: 3, padding: 'same', activation: 'tanh' },
    { type: 'maxpool', size: 2 },
    { type: 'dense', units: 5, activation: 'tanh' },
  ],
  outputs: 3,
};

const configs: Record<string, TrainConfig & FitOptions> = {
  'plain sgd (fused step)': trainConfig({ epochs: 2, batchSize: 8, optimizer: 'sgd', lr: 0.5 }),
  'sgd + momentum + weight decay + proximal': {
    ...trainConfig({ epochs: 2, batchSize: 8, optimizer: 'sgd', lr: 0.3, momentum: 0.9, weightDecay: 0.01 }),
    mu: 0.5,
  },
  'adam + weight decay': trainConfig({ epochs: 2, batchSize: 8, optimizer: 'adam', lr: 0.01, weightDecay: 0.01 }),
};

/** Per parameter, whether its delta is exactly zero. */
function zeroByParam(spec: ModelSpec, delta: Float32Array): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  let at = 0;
  for (const p of paramShapes(spec)) {
    const n = sizeOf(p.shape);
    out[p.name] = delta.subarray(at, at + n).every((v) => v === 0);
    at += n;
  }
  return out;
}

describe('frozen parameters in both engines', () => {
  const cases: [string, ModelSpec, string[], Dataset][] = [
    ['mlp, first hidden layer frozen', mlp, ['dense0'], data(40, 12, 3, 1)],
    ['mlp, both hidden layers and the head bias frozen', mlp, ['dense0', 'dense1', 'dense2/bias'], data(40, 12, 3, 2)],
    ['mlp, only a middle layer frozen (gradients still flow through it)', mlp, ['dense1'], data(40, 12, 3, 3)],
    ['cnn, conv layer frozen', cnn, ['conv0'], data(24, 36, 3, 4)],
  ];
  for (const [name, spec, frozen, ds] of cases) {
    for (const [cfgName, base] of Object.entries(configs)) {
      it(`${name}: ${cfgName}`, async () => {
        const config = { ...base, frozen };
        const w = initWeights(spec, 9);
        const a = await simd.train(spec, w, { dataset: ds }, config, 5);
        const b = await tfjs.train(spec, w, { dataset: ds }, config, 5);
        const layout = trainableLayout(spec, frozen);
        for (const r of [a, b]) {
          const zero = zeroByParam(spec, r.delta);
          for (const [i, p] of paramShapes(spec).entries()) expect(zero[p.name], `${p.name} zero delta`).toBe(!layout.trainable[i]);
        }
        // the engines agree on the trainable part
        const ta = gatherTrainable(a.delta, layout);
        const tb = gatherTrainable(b.delta, layout);
        const scale = Math.max(...ta.map(Math.abs));
        for (let i = 0; i < ta.length; i++) expect(Math.abs(ta[i]! - tb[i]!)).toBeLessThan(2e-4 * Math.max(1, scale));
      });
    }
  }

  it('with nothing frozen, both engines give the exact bytes they gave before freezing existed', async () => {
    // SHA-256 prefixes of the deltas, recorded by running this same training at commit f628360
    const before: Record<string, [string, string]> = {
      'plain sgd (fused step)': ['b2f499e4c6ac805c', '84aae5cc91427775'],
      'sgd + momentum + weight decay + proximal': ['b4406f2e03cccf97', '5d21d9192698dc59'],
      'adam + weight decay': ['10831ca319b07a24', '58f4c2683e215858'],
    };
    const ds = data(40, 12, 3, 6);
    const w = initWeights(mlp, 3);
    const hash = (d: Float32Array) =>
      createHash('sha256')
        .update(Buffer.from(d.buffer, d.byteOffset, d.byteLength))
        .digest('hex')
        .slice(0, 16);
    for (const [name, [simdHash, tfjsHash]] of Object.entries(before)) {
      expect(hash((await simd.train(mlp, w, { dataset: ds }, configs[name]!, 1)).delta), `simd, ${name}`).toBe(simdHash);
      expect(hash((await tfjs.train(mlp, w, { dataset: ds }, configs[name]!, 1)).delta), `tfjs, ${name}`).toBe(tfjsHash);
    }
  });

  it('an unknown frozen name fails the task with the valid names', async () => {
    const ds = data(8, 12, 3, 7);
    const c = { ...configs['plain sgd (fused step)']!, frozen: ['dense9'] };
    await expect(simd.train(mlp, initWeights(mlp, 1), { dataset: ds }, c, 1)).rejects.toThrow(/unknown layer "dense9".*dense0, dense0\/kernel/);
    const tensors = tf.memory().numTensors;
    await expect(tfjs.train(mlp, initWeights(mlp, 1), { dataset: ds }, c, 1)).rejects.toThrow(/unknown layer "dense9"/);
    // an autodiff model and a gan too, with FedProx anchors asked for: nothing is left allocated
    const gru: ModelSpec = { type: 'rnn', cell: 'gru', seqLen: 4, inputDim: 3, units: 4, layers: 1, outputs: 3 };
    const gan: ModelSpec = {
      type: 'gan',
      latent: 2,
      features: 12,
      generator: { hidden: [4], activation: 'relu' },
      discriminator: { hidden: [4], activation: 'leakyRelu' },
      output: 'sigmoid',
    };
    for (const spec of [gru, gan]) {
      await expect(tfjs.train(spec, initWeights(spec, 1), { dataset: ds }, { ...c, mu: 0.5 }, 1)).rejects.toThrow(/unknown layer "dense9"/);
    }
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
