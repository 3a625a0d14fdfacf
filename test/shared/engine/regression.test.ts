import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../shared/data/dataset.ts';
import { targetScale } from '../../../shared/config/model-from-data.ts';
import { decideEngine } from '../../../shared/engine/factory.ts';
import { scoreView } from '../../../shared/engine/score.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import { initWeights } from '../../../shared/models/registry.ts';
import type { ModelSpec } from '../../../shared/models/spec.ts';
import { mulberry32 } from '../../../shared/rng.ts';
import { evaluateResultSchema } from '../../../shared/protocol/messages.ts';
import { trainConfig } from '../../../shared/train-config.ts';
import { add } from '../../../shared/weights.ts';

/** y = 3·x₁ − 2·x₂ + noise (σ 0.1), x uniform in [−1, 1]², as a regression dataset. */
function linearData(n: number, seed: number): Dataset {
  const rng = mulberry32(seed);
  const x = new Float32Array(n * 2);
  const targets = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng() * 2 - 1;
    const b = rng() * 2 - 1;
    x[2 * i] = a;
    x[2 * i + 1] = b;
    // Box–Muller noise
    targets[i] = 3 * a - 2 * b + 0.1 * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  }
  return { x, y: new Uint8Array(n), size: n, features: 2, classes: 1, targets };
}

const spec: ModelSpec = { type: 'mlp', inputs: 2, hidden: [16], outputs: 1, activation: 'tanh', loss: 'mse' };
const cfg = trainConfig({ epochs: 1, batchSize: 16, optimizer: 'sgd', lr: 0.05, momentum: 0 });

describe('regression on the tfjs engine (an MLP with loss mse)', () => {
  it('MSE falls training on y = 3·x₁ − 2·x₂ + noise, deterministically, without leaking tensors; R² nears 1', async () => {
    const engine = await TfjsEngine.create();
    const train = linearData(512, 1);
    const test = linearData(200, 2);
    let w = initWeights(spec, 3);
    const before = await engine.evaluate(spec, w, { dataset: test });
    expect(before.accuracy).toBeUndefined();
    const tensors = tf.memory().numTensors;
    const r1 = await engine.train(spec, w, { dataset: train }, { ...cfg, epochs: 10 }, 9);
    const r2 = await engine.train(spec, w, { dataset: train }, { ...cfg, epochs: 10 }, 9);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Buffer.from(r1.delta.buffer).equals(Buffer.from(r2.delta.buffer))).toBe(true);
    expect(r1.metrics.accuracy).toBeUndefined();
    expect(r1.metrics.mae).toBeGreaterThan(0);
    w = add(w, r1.delta);
    const after = await engine.evaluate(spec, w, { dataset: test });
    expect(after.loss).toBeLessThan(before.loss * 0.05);
    expect(after.mae).toBeLessThan(before.mae! * 0.3);
    expect(after.r2).toBeGreaterThan(0.97);
    // predict gives the raw outputs: their MSE against the targets is evaluate's loss
    const predictions = await engine.predict(spec, w, { dataset: test });
    let se = 0;
    for (let i = 0; i < test.size; i++) se += (predictions[i]! - test.targets![i]!) ** 2;
    expect(after.loss).toBeCloseTo(se / test.size, 5);
    // federated evaluation's report: the same errors, and RMSE
    const scores = await scoreView(engine, spec, w, { dataset: test, indices: Uint32Array.from({ length: test.size }, (_, i) => i) });
    expect(scores.metrics).toMatchObject({
      mse: expect.closeTo(after.loss, 6),
      mae: expect.closeTo(after.mae!, 6),
      rmse: expect.closeTo(Math.sqrt(after.loss), 6),
    });
  });

  it('with a target scale, learns targets in the tens of thousands at the same learning rate, scored in their own units', async () => {
    const engine = await TfjsEngine.create();
    const big = (d: Dataset): Dataset => ({ ...d, targets: d.targets!.map((t) => 1000 * t + 50_000) });
    const train = big(linearData(512, 1));
    const test = big(linearData(200, 2));
    const scaled: ModelSpec = { ...spec, target: targetScale(train.targets!, 1) };
    const w = initWeights(scaled, 3);
    const r = await engine.train(scaled, w, { dataset: train }, { ...cfg, epochs: 10 }, 9);
    const after = await engine.evaluate(scaled, add(w, r.delta), { dataset: test });
    expect(after.r2).toBeGreaterThan(0.97);
    // errors in the targets' units: a thousandth of the spread would be far too small, the spread itself far too large
    expect(after.mae).toBeGreaterThan(10);
    expect(after.mae).toBeLessThan(300);
    const predictions = await engine.predict(scaled, add(w, r.delta), { dataset: test });
    expect(Math.abs(predictions[0]! - test.targets![0]!)).toBeLessThan(1000);
    // the same rows unscaled at this learning rate go nowhere near
    const raw = await engine.train(spec, w, { dataset: train }, { ...cfg, epochs: 10 }, 9);
    const rawAfter = await engine.evaluate(spec, add(w, raw.delta), { dataset: test });
    expect(Number.isFinite(rawAfter.loss) && rawAfter.loss < after.loss).toBe(false);
  });

  it('takes exact gradients of the mean squared error (checked by finite differences)', async () => {
    const engine = await TfjsEngine.create();
    const data = linearData(8, 4);
    const small: ModelSpec = { ...spec, hidden: [4, 3], activation: 'sigmoid' };
    const w = initWeights(small, 11);
    const rng = mulberry32(5);
    for (let i = 0; i < w.length; i++) w[i]! += (rng() - 0.5) * 0.2;
    // one full-batch step with lr 1: delta = −∇(mean loss)
    const { delta } = await engine.train(small, w, { dataset: data }, { ...cfg, batchSize: 8, lr: 1 }, 1);
    const eps = 1e-3;
    for (let i = 0; i < w.length; i += 2) {
      const plus = Float32Array.from(w);
      const minus = Float32Array.from(w);
      plus[i]! += eps;
      minus[i]! -= eps;
      const numeric =
        ((await engine.evaluate(small, plus, { dataset: data })).loss - (await engine.evaluate(small, minus, { dataset: data })).loss) / (2 * eps);
      expect(Math.abs(-delta[i]! - numeric), `parameter ${i}`).toBeLessThan(1e-3);
    }
  });

  it('refuses labels for a regression model and targets for a classifier; the simd engine declines regression', async () => {
    const engine = await TfjsEngine.create();
    const data = linearData(8, 5);
    const labelled = { ...data, targets: undefined };
    await expect(engine.train(spec, initWeights(spec, 1), { dataset: labelled }, cfg, 1)).rejects.toThrow(
      /regression model \(loss mse\) but the data has class labels/,
    );
    const classifier: ModelSpec = { type: 'mlp', inputs: 2, hidden: [4], outputs: 2, activation: 'relu' };
    await expect(engine.evaluate(classifier, initWeights(classifier, 1), { dataset: { ...data, classes: 2 } })).rejects.toThrow(
      /real-valued targets \(regression\) but the model is a classifier/,
    );
    expect(decideEngine(spec).engine).toBe('tfjs');
    expect(() => decideEngine(spec, 'simd')).toThrow(/--engine simd cannot run this model: a regression model/);
  });

  it("a client's regression report travels in an evaluateResult; a NaN or negative error does not", () => {
    const result = (metrics: Record<string, number>) => evaluateResultSchema.safeParse({ type: 'evaluateResult', round: 1, numExamples: 10, metrics });
    expect(result({ mae: 12_000.5, mse: 2.5e8, rmse: 15_811, r2: -3.2 }).success).toBe(true);
    expect(result({ mae: Number.NaN, mse: 1, rmse: 1 }).success).toBe(false);
    expect(result({ mae: -1, mse: 1, rmse: 1 }).success).toBe(false);
    expect(result({ mae: 1, mse: 1, rmse: 1, r2: 1.5 }).success).toBe(false);
  });
});
