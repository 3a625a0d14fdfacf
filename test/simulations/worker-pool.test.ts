import { describe, expect, it } from 'vitest';
import { fitConfig } from '../../shared/protocol/fit-config.ts';
import { loadMnist } from '../../shared/data/mnist.ts';
import { memoryLogger } from '../../shared/log.ts';
import { DEFAULT_MODEL } from '../../shared/models/spec.ts';
import { initWeights } from '../../shared/models/registry.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { scoreView } from '../../shared/engine/score.ts';
import { WorkerPool } from '../../simulations/worker-pool.ts';

const cfg = fitConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0, mu: 0 });

describe('worker pool', () => {
  it('a worker that dies mid-job fails that job only, is replaced, and the pool keeps training', async () => {
    const { train } = loadMnist();
    const log = memoryLogger();
    const pool = await WorkerPool.create({ size: 2, dataset: train, log });
    try {
      const w = initWeights(DEFAULT_MODEL, 1);
      const shard = Uint32Array.from({ length: 4000 }, (_, i) => i);
      const doomed = pool.train(DEFAULT_MODEL, w, shard, cfg, 1);
      const fine = pool.train(DEFAULT_MODEL, w, shard.subarray(0, 100), cfg, 2);
      // kill the worker that took the first job
      const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> }; busy?: { job: { id: number } } }[] }).slots;
      await new Promise((r) => setTimeout(r, 20));
      const victim = slots.find((s) => s.busy?.job.id === 1)!;
      await victim.worker.terminate();
      await expect(doomed).rejects.toThrow(/the training worker died: it exited with code 1/);
      expect((await fine).numExamples).toBe(100);
      const after = await pool.train(DEFAULT_MODEL, w, shard.subarray(0, 64), cfg, 3);
      expect(after.numExamples).toBe(64);
      expect(log.entries.some((e) => /training worker died/.test(e.msg ?? ''))).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('a job whose model has the bytes a worker holds goes without them; one with other bytes, even one bit, gets its own', async () => {
    const { train } = loadMnist();
    const pool = await WorkerPool.create({ size: 1, dataset: train, engine: 'simd', log: memoryLogger() });
    try {
      const rows = Uint32Array.from({ length: 200 }, (_, i) => i * 7);
      const a = initWeights(DEFAULT_MODEL, 5);
      const copy = new Float32Array(a); // another array, the same bytes: as each WebSocket agent decodes the round's model
      const flipped = new Float32Array(a);
      const bits = new Uint32Array(flipped.buffer);
      bits[77] = bits[77]! ^ 1;
      const posted: { weights?: Float32Array }[] = [];
      const worker = (pool as unknown as { slots: { worker: { postMessage(m: unknown): void } }[] }).slots[0]!.worker;
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (m: { weights?: Float32Array }) => {
        posted.push(m);
        post(m);
      };
      const [first, again, other] = [
        await pool.train(DEFAULT_MODEL, a, rows, cfg, 9),
        await pool.train(DEFAULT_MODEL, copy, rows, cfg, 9),
        await pool.train(DEFAULT_MODEL, flipped, rows, cfg, 9),
      ];
      expect(posted.map((m) => m.weights !== undefined)).toEqual([true, false, true]);
      expect(Buffer.from(again.delta.buffer).equals(Buffer.from(first.delta.buffer))).toBe(true);
      const engine = SimdEngine.create();
      const fresh = await engine.train(DEFAULT_MODEL, flipped, { dataset: train, indices: rows }, cfg, 9);
      expect(Buffer.from(other.delta.buffer).equals(Buffer.from(fresh.delta.buffer))).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('evaluate jobs score a model on rows of the shared dataset on a worker, as the main thread would', async () => {
    const { train } = loadMnist();
    const pool = await WorkerPool.create({ size: 1, dataset: train, engine: 'simd', log: memoryLogger() });
    try {
      const w = initWeights(DEFAULT_MODEL, 4);
      const rows = Uint32Array.from({ length: 300 }, (_, i) => i * 13);
      const [scores, trained] = await Promise.all([pool.evaluate(DEFAULT_MODEL, w, rows), pool.train(DEFAULT_MODEL, w, rows, cfg, 1)]);
      expect(trained.numExamples).toBe(300);
      expect(scores).toEqual(await scoreView(SimdEngine.create(), DEFAULT_MODEL, w, { dataset: train, indices: rows }));
      await expect(pool.evaluate(DEFAULT_MODEL, w.subarray(1), rows)).rejects.toThrow(/got 101769 weights, the model has 101770/);
    } finally {
      await pool.close();
    }
  });
});
