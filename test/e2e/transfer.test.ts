import { withFields } from '../../shared/config.ts';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../shared/data/mnist.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { loadSavedModel, saveModel } from '../../shared/models/saved-model.ts';
import { gatherTrainable, trainableLayout } from '../../shared/trainable.ts';
import { initWeights } from '../../shared/models/registry.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig } from './helpers.ts';

const out = mkdtempSync(join(tmpdir(), 'starling-transfer-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('transfer learning', () => {
  it('pretrain, save, start a federated run from it with the body frozen: the body stays byte-identical, the new head learns, less travels', async () => {
    // 1. pretrain briefly; the run directory is a saved model
    const pre = await simulate(testConfig({ clients: 2, rounds: 2, out, model: { type: 'mlp', inputs: 784, hidden: [64], outputs: 10, activation: 'relu' } }), {
      log: silentLogger,
      workers: 2,
    });
    expect(existsSync(join(pre.dir!, 'model.json'))).toBe(true);
    const pretrained = loadSavedModel(pre.dir!);
    expect(bytes(pretrained.weights).equals(bytes(pre.weights))).toBe(true);

    // 2. keep the body, put a fresh random head on it, save that as the starting model
    const { spec } = pretrained;
    const frozen = trainableLayout(spec, ['dense0']);
    const start = pretrained.weights.slice();
    const head = frozen.segments[0]!;
    start.set(initWeights(spec, 1234).subarray(head.offset, head.offset + head.length), head.offset);
    const startDir = join(out, 'new-head');
    saveModel(startDir, spec, start);
    const test = loadMnist().test;
    const before = await SimdEngine.create().evaluate(spec, start, { dataset: test });
    expect(before.accuracy).toBeLessThan(0.3); // a random head: near chance

    // 3. federated rounds from it, dense0 frozen
    const cfg = testConfig({ clients: 3, rounds: 3, out, init: join(startDir, 'model.json'), freeze: ['dense0'] });
    expect(cfg.model).toEqual(spec);
    const run = await simulate(cfg, { log: silentLogger, workers: 2 });
    expect(run.agents.every((a) => a.status === 'fulfilled')).toBe(true);
    const body = (w: Float32Array) => w.subarray(0, 784 * 64 + 64);
    expect(bytes(body(run.weights)).equals(bytes(body(start)))).toBe(true);
    expect(bytes(gatherTrainable(run.weights, frozen)).equals(bytes(gatherTrainable(start, frozen)))).toBe(false);
    const rounds = run.history.rounds;
    expect(rounds[0]!.accuracy!).toBeGreaterThan(before.accuracy! + 0.3);
    expect(rounds[1]!.loss!).toBeLessThan(rounds[0]!.loss!);
    expect(rounds[2]!.loss!).toBeLessThan(rounds[1]!.loss!);
    expect(run.history.trainableParamCount).toBe(64 * 10 + 10);
    // its own output is a saved model that records where it came from
    expect(loadSavedModel(run.dir!).manifest.source).toMatchObject({ frozen: ['dense0'], init: join(startDir, 'model.json'), rounds: 3 });

    // 4. the same run without freezing: wire bytes against the trainable fraction
    const full = await simulate(withFields(cfg, { freeze: [] }), { log: silentLogger, workers: 2, writeHistory: false });
    const fraction = frozen.trainableCount / frozen.totalCount;
    for (const [i, r] of rounds.entries()) {
      const f = full.history.rounds[i]!;
      // client → coordinator: three deltas of the trainable values only, plus per-message overhead
      expect(r.bytesIn).toBeGreaterThan(f.bytesIn * fraction);
      expect(r.bytesIn).toBeLessThan(f.bytesIn * fraction + 3 * 1024);
      // coordinator → client: full weights once, then only the trainable values
      if (i === 0) expect(Math.abs(r.bytesOut - f.bytesOut)).toBeLessThan(3 * 1024);
      else expect(r.bytesOut).toBeLessThan(f.bytesOut * fraction + 3 * 1024);
    }
    console.log(
      `transfer bytes/round (3 clients, MLP 784-64-10, ${frozen.trainableCount} of ${frozen.totalCount} train): ` +
        rounds
          .map(
            (r, i) =>
              `r${i + 1} in ${r.bytesIn} / out ${r.bytesOut} frozen vs in ${full.history.rounds[i]!.bytesIn} / out ${full.history.rounds[i]!.bytesOut} full`,
          )
          .join('; '),
    );

    // 5. deterministic: the same config gives the same bytes
    const again = await simulate(cfg, { log: silentLogger, workers: 1, writeHistory: false });
    expect(again.history.finalWeightsSha256).toBe(run.history.finalWeightsSha256);

    // 6. with federated evaluation too: the new model reaches the clients in evaluate tasks, still only its trainable values
    const evaluated = await simulate(withFields(cfg, { localValidation: 0.1 }), { log: silentLogger, workers: 2, writeHistory: false });
    expect(bytes(body(evaluated.weights)).equals(bytes(body(start)))).toBe(true);
    for (const [i, r] of evaluated.history.rounds.entries()) {
      expect(r.federated?.clients).toBe(3);
      if (i > 0) expect(r.bytesOut).toBeLessThan(full.history.rounds[i]!.bytesOut * fraction + 6 * 1024);
    }
  });
});
