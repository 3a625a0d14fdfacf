/**
 * The FedAvg paper's CNN (McMahan et al. 2017; 1,663,370 parameters), one epoch
 * of 800 MNIST digits, batch 10, SGD lr 0.05, one core. Engines:
 * simd, simd without zero skipping, tfjs-wasm as shipped plus only the missing
 * Conv2DBackpropFilter (the reference point: ≈ 5.5 s per epoch with tfjs-wasm 4.22's conv-gradient kernels built from its own PadV2 + Transpose + Conv2D, measured on this machine class), and
 * tfjs-wasm with all of Starling's kernels registered.
 *
 *   npx tsx bench/cnn-bench.ts [--runs 3]
 */
import { parseArgs } from 'node:util';
import { fitConfig } from '../shared/protocol/fit-config.ts';
import { loadMnist } from '../shared/data/mnist.ts';
import type { Engine } from '../shared/engine/engine.ts';
import { SimdEngine } from '../shared/engine/simd/simd-engine.ts';
import { TfjsEngine } from '../shared/engine/tfjs-engine.ts';
import { FEDAVG_CNN } from '../shared/models/cnn.ts';
import { initWeights } from '../shared/models/registry.ts';
import { spread } from './stats.ts';

export async function cnnBench(runs: number) {
  const { train, test } = loadMnist();
  const shard = { dataset: train, indices: Uint32Array.from({ length: 800 }, (_, i) => i) };
  const held = { dataset: test, indices: Uint32Array.from({ length: 500 }, (_, i) => i) };
  const w0 = initWeights(FEDAVG_CNN, 42);
  const cfg = fitConfig({ epochs: 1, batchSize: 10, optimizer: 'sgd', lr: 0.05, momentum: 0, mu: 0 });
  // tfjs-wasm kernel registration is per process and only grows: the shipped baseline goes first
  const engines: [string, () => Promise<Engine>][] = [
    ['simd', async () => SimdEngine.create()],
    ['simd (dense kernels only)', async () => SimdEngine.create({ sparseInput: false })],
    ['tfjs-wasm as shipped + the missing Conv2DBackpropFilter', () => TfjsEngine.create('wasm', undefined, { simdKernels: false })],
    ["tfjs-wasm with Starling's SIMD kernels", () => TfjsEngine.create('wasm')],
  ];
  const results = [];
  for (const [name, make] of engines) {
    const engine = await make();
    const epoch: number[] = [];
    let accuracy = 0;
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      const res = await engine.train(FEDAVG_CNN, w0, shard, cfg, r + 1);
      epoch.push((performance.now() - t) / 1000);
      accuracy = (
        await engine.evaluate(
          FEDAVG_CNN,
          w0.map((v, i) => v + res.delta[i]!),
          held,
        )
      ).accuracy!;
    }
    results.push({ engine: name, epochSeconds: spread(epoch), accuracyOn500TestDigits: accuracy });
    process.stderr.write(`cnn: ${name}: ${spread(epoch).median.toFixed(3)} s\n`);
  }
  const simd = results[0]!.epochSeconds.median;
  return {
    bench: 'cnn',
    workload: 'FedAvg CNN (5×5×32, pool, 5×5×64, pool, 512, 10), one epoch of 800 MNIST digits, batch 10, SGD lr 0.05, one core',
    runs,
    results,
    simdSpeedup: Object.fromEntries(results.slice(2).map((r) => [r.engine, r.epochSeconds.median / simd])),
    peers: { 'tfjs-wasm 4.22 with the conv-gradient kernels patched (measured on this machine class)': 5.5, 'tfjs cpu backend': 1100 },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
  process.stdout.write(`${JSON.stringify(await cnnBench(Number(values.runs)), null, 2)}\n`);
}
