/**
 * Engine speed on one core: one epoch of the core-round workload —
 * MLP 784-128-10, batch 32, SGD lr 0.05, the 8,000 MNIST training digits — for
 * each engine, plus central evaluation of the 2,000 test digits. Median and spread
 * over several runs, in this thread (one core).
 *
 *   npx tsx bench/epoch-bench.ts [--runs 7]
 */
import { parseArgs } from 'node:util';
import { fitConfig } from '../shared/protocol/fit-config.ts';
import { loadMnist } from '../shared/data/mnist.ts';
import type { Engine } from '../shared/engine/engine.ts';
import { SimdEngine } from '../shared/engine/simd/simd-engine.ts';
import { TfjsEngine } from '../shared/engine/tfjs-engine.ts';
import { DEFAULT_MODEL } from '../shared/models/spec.ts';
import { initWeights } from '../shared/models/registry.ts';
import { spread } from './stats.ts';

export async function epochBench(runs: number) {
  const { train, test } = loadMnist();
  const w0 = initWeights(DEFAULT_MODEL, 42);
  const cfg = fitConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0, mu: 0 });
  const engines: [string, Engine][] = [
    ['simd', SimdEngine.create()],
    ['simd (dense kernels only)', SimdEngine.create({ sparseInput: false })],
    ['tfjs-wasm (lean loop)', await TfjsEngine.create('wasm')],
  ];
  const results = [];
  for (const [name, engine] of engines) {
    await engine.train(DEFAULT_MODEL, w0, { dataset: train }, cfg, 0); // warm-up (JIT, backend init)
    const epoch: number[] = [];
    const evaluation: number[] = [];
    let accuracy = 0;
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      const res = await engine.train(DEFAULT_MODEL, w0, { dataset: train }, cfg, r + 1);
      epoch.push((performance.now() - t) / 1000);
      const w = w0.map((v, i) => v + res.delta[i]!);
      t = performance.now();
      accuracy = (await engine.evaluate(DEFAULT_MODEL, w, { dataset: test })).accuracy!;
      evaluation.push((performance.now() - t) / 1000);
    }
    results.push({ engine: name, epochSeconds: spread(epoch), evaluate2000Seconds: spread(evaluation), testAccuracyAfterOneEpoch: accuracy });
    process.stderr.write(`epoch: ${name}: ${spread(epoch).median.toFixed(4)} s\n`);
  }
  return {
    bench: 'epoch',
    workload: 'MLP 784-128-10, one epoch of 8,000 MNIST digits, batch 32, SGD lr 0.05, one core',
    runs,
    results,
    peers: { 'PyTorch 1.13 + OpenBLAS, one core': 0.085, 'tfjs-wasm model.fit': 1.25, 'tfjs-wasm hand loop (optimizer.minimize)': 1.7 },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
  process.stdout.write(`${JSON.stringify(await epochBench(Number(values.runs)), null, 2)}\n`);
}
