import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../shared/data/dataset.ts';
import { loadMnist } from '../../../shared/data/mnist.ts';
import type { Engine } from '../../../shared/engine/engine.ts';
import { SimdEngine } from '../../../shared/engine/simd/simd-engine.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import { evaluationReport } from '../../../shared/metrics/report.ts';
import type { CnnSpec } from '../../../shared/models/cnn.ts';
import { initWeights } from '../../../shared/models/registry.ts';
import { DEFAULT_MODEL } from '../../../shared/models/spec.ts';
import { mulberry32 } from '../../../shared/rng.ts';

const simd = SimdEngine.create();
const tfjs = await TfjsEngine.create();
const { test } = loadMnist();
// 300 rows in a scattered order: predict must follow the view's order, across chunk boundaries
const rows = Uint32Array.from({ length: 300 }, (_, i) => (i * 37) % test.size);

function rowSums(p: Float32Array, classes: number): number[] {
  return Array.from({ length: p.length / classes }, (_, i) => p.subarray(i * classes, (i + 1) * classes).reduce((a, b) => a + b, 0));
}

describe('engine.predict', () => {
  const engines: [string, Engine][] = [
    ['simd', simd],
    ['tfjs', tfjs],
  ];
  for (const [name, engine] of engines) {
    it(`${name}: softmax rows over the view, agreeing with evaluate's accuracy and loss`, async () => {
      const w = initWeights(DEFAULT_MODEL, 5);
      const view = { dataset: test, indices: rows };
      const p = await engine.predict(DEFAULT_MODEL, w, view);
      expect(p).toHaveLength(300 * 10);
      for (const s of rowSums(p, 10)) expect(s).toBeCloseTo(1, 5);
      const labels = Uint8Array.from(rows, (r) => test.y[r]!);
      const report = evaluationReport(labels, p, 10);
      const ev = await engine.evaluate(DEFAULT_MODEL, w, view);
      expect(report.accuracy).toBeCloseTo(ev.accuracy!, 10);
      expect(report.loss).toBeCloseTo(ev.loss, 4);
      await expect(engine.predict(DEFAULT_MODEL, w, { dataset: test, indices: new Uint32Array(0) })).rejects.toThrow(/empty/);
    });
  }

  it('the engines predict the same probabilities for an MLP and for a CNN (predictGraph)', async () => {
    const w = initWeights(DEFAULT_MODEL, 6);
    const view = { dataset: test, indices: rows.subarray(0, 40) };
    const a = await simd.predict(DEFAULT_MODEL, w, view);
    const b = await tfjs.predict(DEFAULT_MODEL, w, view);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);

    const cnn: CnnSpec = {
      type: 'cnn',
      input: [6, 6, 1],
      layers: [
        { type: 'conv', filters: 3, kernel: 3, padding: 'same', activation: 'relu' },
        { type: 'maxpool', size: 2 },
        { type: 'dense', units: 8, activation: 'tanh' },
      ],
      outputs: 4,
    };
    const rng = mulberry32(3);
    const ds: Dataset = {
      x: Float32Array.from({ length: 20 * 36 }, () => rng()),
      y: Uint8Array.from({ length: 20 }, (_, i) => i % 4),
      size: 20,
      features: 36,
      classes: 4,
    };
    const wc = initWeights(cnn, 1);
    const pc = await simd.predict(cnn, wc, { dataset: ds });
    const qc = await tfjs.predict(cnn, wc, { dataset: ds });
    expect(qc).toHaveLength(20 * 4);
    for (const s of rowSums(qc, 4)) expect(s).toBeCloseTo(1, 5);
    for (let i = 0; i < pc.length; i++) expect(Math.abs(pc[i]! - qc[i]!)).toBeLessThan(1e-5);
  });
});
