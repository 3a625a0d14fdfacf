import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoundRecord } from '../coordinator/round-loop.ts';
import { RunRecorder } from '../coordinator/store/run-recorder.ts';
import type { FitOutcome } from '../coordinator/strategies/strategy.ts';
import { silentLogger } from '../shared/log.ts';
import { initWeights, paramCount } from '../shared/models/registry.ts';
import { DEFAULT_MODEL } from '../shared/models/spec.ts';
import { spread } from './stats.ts';

/**
 * What committing a round costs the coordinator (README "Runs, checkpoints and recovery"), for
 * a 10-client round of the default MLP, with a stateless server step (fedavg: the model alone)
 * and with FedAdam's two moment vectors beside it: `commitMs`, the round's record and its
 * clients' results in one SQLite transaction, which the next round waits for; and
 * `checkpointMs`, the checkpoint encoded, written atomically (fsync, rename) and named in the
 * store, in the background while the next round's clients train. Beside them, the 10-client
 * round's seconds measured in the same report.
 */
export async function storeBench(rounds: number, secondsPerRound: number | undefined) {
  const dim = paramCount(DEFAULT_MODEL);
  const weights = initWeights(DEFAULT_MODEL, 1);
  const clients: FitOutcome[] = Array.from({ length: 10 }, (_, i) => ({
    client: { id: `c${i}`, name: `client-${String(i + 1).padStart(2, '0')}` },
    numExamples: 1000,
    delta: new Float32Array(0),
    metrics: { loss: 0.3, accuracy: 0.9, epochs: 1 },
  }));
  const report = [];
  for (const [strategy, step] of [
    ['fedavg', {}],
    ['fedadam', { m: new Float64Array(dim), v: new Float64Array(dim) }],
  ] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'starling-store-bench-'));
    try {
      const recorder = RunRecorder.start(
        join(dir, 'starling.db'),
        {
          id: 'bench',
          startedAt: new Date().toISOString(),
          config: {},
          seed: 1,
          roundsPlanned: rounds,
          data: 'mnist',
          model: 'mlp',
          strategy,
          codeVersion: 'bench',
          dir: join(dir, 'bench'),
        },
        silentLogger,
      );
      const commitMs: number[] = [];
      const checkpointMs: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        recorder.onClients(round, clients, []);
        const started = performance.now();
        recorder.onRound(record(round), { runId: 'bench', round, weights, strategy: { step } });
        const committed = performance.now();
        await recorder.flush();
        commitMs.push(committed - started);
        checkpointMs.push(performance.now() - committed);
      }
      await recorder.finish({ status: 'stopped', finishedAt: new Date().toISOString() });
      const commit = spread(commitMs);
      const checkpoint = spread(checkpointMs);
      report.push({
        bench: 'store-commit',
        strategy,
        clients: clients.length,
        params: dim,
        rounds,
        commitMs: commit,
        checkpointMs: checkpoint,
        roundSeconds10Clients: secondsPerRound ?? null,
        // what the next round waits for, and what runs beside it
        commitShareOfRound: secondsPerRound ? commit.median / 1000 / secondsPerRound : null,
        checkpointShareOfRound: secondsPerRound ? checkpoint.median / 1000 / secondsPerRound : null,
        budget: 0.05,
      });
      process.stderr.write(
        `store: ${strategy} round commit ${commit.median.toFixed(2)} ms, checkpoint ${checkpoint.median.toFixed(2)} ms in the background (medians of ${rounds})\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return report;
}

function record(round: number): RoundRecord {
  return {
    round,
    accuracy: 0.9,
    loss: 0.3,
    seconds: 0.5,
    bytesIn: 4_000_000,
    bytesOut: 4_000_000,
    clients: 10,
    failures: 0,
    partial: 0,
    trainLoss: 0.3,
    trainAccuracy: 0.9,
    federated: null,
    timings: { collect: 0.4, slowestClientTrain: 0.3, aggregate: 0.01, evaluate: 0.05, federatedEvaluate: 0 },
  };
}
