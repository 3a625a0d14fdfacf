import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { openDataSource, parseClientData } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { TfjsEngine } from '../../shared/engine/tfjs-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { mulberry32 } from '../../shared/rng.ts';
import { testConfig, testKeys } from './helpers.ts';

/** Three Gaussian blobs in 4-D, written as a private CSV per client. */
function writeBlobs(path: string, rows: number, seed: number): void {
  const rng = mulberry32(seed);
  const lines = ['f1,f2,f3,f4,species'];
  for (let i = 0; i < rows; i++) {
    const c = i % 3;
    const f = [0, 1, 2, 3].map((d) => (d === c ? 3 : 0) + (rng() - 0.5) * 2);
    lines.push([...f.map((v) => v.toFixed(4)), c].join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

describe('clients on private CSV files', () => {
  it('train a model from the run config on their own data; the training loss falls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starling-csv-run-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const config = testConfig({
      clients: 2,
      rounds: 3,
      evaluate: 'none',
      model: { type: 'mlp', inputs: 4, hidden: [8], outputs: 3, activation: 'relu' },
      train: { epochs: 2, batchSize: 8, optimizer: 'sgd', lr: 0.1 },
    });
    const engine = await TfjsEngine.create();
    const rounds: RoundRecord[] = [];
    const keys = testKeys(2);
    const coordinator = await startCoordinator(config, { log: silentLogger, writeHistory: false, onRound: (r) => rounds.push(r), security: keys.coordinator });
    try {
      const agents = [1, 2].map(async (k) => {
        const file = join(dir, `site-${k}.csv`);
        writeBlobs(file, 90, k);
        const data = await openDataSource({ data: parseClientData(file), label: 'species', partition: { kind: 'iid' }, seed: 1 });
        return new ClientAgent({
          url: coordinator.url,
          name: `site-${k}`,
          trainer: new EngineTrainer(engine, data),
          log: silentLogger,
          security: keys.client(k - 1),
        }).run();
      });
      await Promise.all(agents);
      await coordinator.done;
      expect(rounds.map((r) => r.accuracy)).toEqual([null, null, null]);
      expect(rounds[2]!.trainLoss!).toBeLessThan(rounds[0]!.trainLoss!);
      expect(rounds[2]!.trainAccuracy!).toBeGreaterThan(0.9);
    } finally {
      await coordinator.close();
    }
  });

  it('a CSV whose labels exceed the model is refused by that client with a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starling-csv-bad-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'f1,f2,f3,f4,species\n1,2,3,4,7\n');
    const config = testConfig({ clients: 1, rounds: 1, evaluate: 'none', model: { type: 'mlp', inputs: 4, hidden: [8], outputs: 3, activation: 'relu' } });
    const keys = testKeys(1);
    const coordinator = await startCoordinator(config, { log: silentLogger, writeHistory: false, security: keys.coordinator });
    try {
      const data = await openDataSource({ data: parseClientData(file), label: 'species', partition: { kind: 'iid' }, seed: 1 });
      const agent = new ClientAgent({
        url: coordinator.url,
        name: 'bad',
        trainer: new EngineTrainer(await TfjsEngine.create(), data),
        log: silentLogger,
        security: keys.client(0),
      });
      await expect(agent.run()).rejects.toThrow(/labels up to 7, but the model predicts only 3 classes/);
    } finally {
      await coordinator.close();
    }
  });
});
