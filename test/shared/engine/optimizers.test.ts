import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../shared/data/dataset.ts';
import { SimdEngine } from '../../../shared/engine/simd/simd-engine.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import type { ModelSpec } from '../../../shared/models/spec.ts';
import { trainConfig, type TrainConfig } from '../../../shared/train-config.ts';

/**
 * Each optimizer against a hand-computed update on a tiny problem: logistic regression
 * (2 features, 2 classes, weights [W00, W01, W10, W11, b0, b1]) on one example, three
 * steps, in float64 here and in both engines.
 */
const spec: ModelSpec = { type: 'mlp', inputs: 2, hidden: [], outputs: 2, activation: 'relu' };
const data: Dataset = { x: Float32Array.of(0.5, -1.5), y: Uint8Array.of(1), size: 1, features: 2, classes: 2 };
const w0 = Float32Array.of(0.1, -0.2, 0.3, 0.05, 0.01, -0.02);

/** ∇ of −log softmax(xW + b)[y] for the one example. */
function gradient(w: number[]): number[] {
  const [x0, x1] = [0.5, -1.5];
  const z = [x0 * w[0]! + x1 * w[2]! + w[4]!, x0 * w[1]! + x1 * w[3]! + w[5]!];
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const p = e.map((v) => v / (e[0]! + e[1]!));
  const d = [p[0]! - 0, p[1]! - 1];
  return [x0 * d[0]!, x0 * d[1]!, x1 * d[0]!, x1 * d[1]!, d[0]!, d[1]!];
}

function reference(c: TrainConfig, steps: number): number[] {
  const w = Array.from(w0);
  const s1 = new Array(6).fill(0);
  const s2 = new Array(6).fill(0);
  for (let t = 1; t <= steps; t++) {
    const g = gradient(w).map((gi, i) => gi + c.weightDecay * w[i]!);
    for (let i = 0; i < 6; i++) {
      if (c.optimizer === 'sgd') {
        s1[i] = c.momentum * s1[i]! + g[i]!;
        w[i]! -= c.lr * (c.momentum === 0 ? g[i]! : c.nesterov ? g[i]! + c.momentum * s1[i]! : s1[i]!);
      } else if (c.optimizer === 'adam') {
        s1[i] = c.beta1 * s1[i]! + (1 - c.beta1) * g[i]!;
        s2[i] = c.beta2 * s2[i]! + (1 - c.beta2) * g[i]! ** 2;
        const mHat = s1[i]! / (1 - c.beta1 ** t);
        const vHat = s2[i]! / (1 - c.beta2 ** t);
        w[i]! -= (c.lr * mHat) / (Math.sqrt(vHat) + c.epsilon);
      } else if (c.optimizer === 'adagrad') {
        s1[i]! += g[i]! ** 2;
        w[i]! -= (c.lr * g[i]!) / (Math.sqrt(s1[i]!) + c.epsilon);
      } else {
        s1[i] = c.rho * s1[i]! + (1 - c.rho) * g[i]! ** 2;
        w[i]! -= (c.lr * g[i]!) / (Math.sqrt(s1[i]!) + c.epsilon);
      }
    }
  }
  return w;
}

const configs: TrainConfig[] = [
  trainConfig({ epochs: 3, batchSize: 1, optimizer: 'sgd', lr: 0.5 }),
  trainConfig({ epochs: 3, batchSize: 1, optimizer: 'sgd', lr: 0.5, weightDecay: 0.1 }),
  trainConfig({ epochs: 3, batchSize: 1, optimizer: 'sgd', lr: 0.5, momentum: 0.9 }),
  trainConfig({ epochs: 3, batchSize: 1, optimizer: 'sgd', lr: 0.5, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  trainConfig({ epochs: 3, batchSize: 1, optimizer: 'adam', lr: 0.1, weightDecay: 0.01 }),
  trainConfig({ epochs: 3, batchSize: 1, optimizer: 'adagrad', lr: 0.3 }),
  trainConfig({ epochs: 3, batchSize: 1, optimizer: 'rmsprop', lr: 0.05, rho: 0.8, weightDecay: 0.05 }),
];

describe('optimizers match hand-computed updates (to 1e-6) in both engines', async () => {
  const engines = [SimdEngine.create(), await TfjsEngine.create()];
  for (const c of configs) {
    it(`${c.optimizer} lr ${c.lr} momentum ${c.momentum}${c.nesterov ? ' nesterov' : ''} L2 ${c.weightDecay}`, async () => {
      const expected = reference(c, 3);
      for (const engine of engines) {
        const { delta } = await engine.train(spec, w0, { dataset: data }, c, 1);
        const got = Array.from(w0, (v, i) => v + delta[i]!);
        for (const [i, v] of got.entries()) expect(Math.abs(v - expected[i]!), `${engine.name} weight ${i}`).toBeLessThan(1e-6);
      }
    });
  }
});
