import { availableParallelism } from 'node:os';
import { ClientAgent, type AgentOutcome } from '../client/agent.ts';
import type { Trainer } from '../client/trainer.ts';
import { startCoordinator, type CoordinatorResult } from '../coordinator/coordinator.ts';
import type { RoundRecord } from '../coordinator/round-loop.ts';
import type { RunConfig } from '../shared/config.ts';
import { loadMnist } from '../shared/data/mnist.ts';
import { parsePartition, partition } from '../shared/data/partition.ts';
import type { Logger } from '../shared/log.ts';
import { PoolTrainer } from './pool-trainer.ts';
import { WorkerPool } from './worker-pool.ts';

export interface SimulateOptions {
  readonly log: Logger;
  readonly onRound?: (record: RoundRecord) => void;
  /** Training workers; default min(cores, clients). */
  readonly workers?: number;
  /** Per-client trainer override (tests use it to inject faulty clients). */
  readonly trainerFor?: (index: number, fallback: Trainer) => Trainer;
  readonly writeHistory?: boolean;
}

export interface SimulationResult extends CoordinatorResult {
  readonly agents: PromiseSettledResult<AgentOutcome>[];
  readonly workers: number;
}

/**
 * A whole federated run on one machine: the real coordinator and `clients` real
 * client agents talking over loopback WebSockets, on shards of the embedded
 * MNIST training digits. The agents are cheap; their training runs on a
 * worker pool sized to the cores.
 */
export async function simulate(config: RunConfig, opts: SimulateOptions): Promise<SimulationResult> {
  const { log } = opts;
  const { train } = loadMnist();
  const shards = partition(parsePartition(config.partition), train.y, train.classes, config.clients, config.seed);
  const workers = opts.workers ?? Math.min(availableParallelism(), config.clients);
  const pool = await WorkerPool.create({ size: workers, dataset: train, backend: config.backend, log });
  log.info({ workers, backend: pool.backend }, `worker pool: ${workers} × ${pool.backend}`);
  let coordinator: Awaited<ReturnType<typeof startCoordinator>> | undefined;
  try {
    // an ephemeral port: a simulation never collides with a real coordinator
    coordinator = await startCoordinator({ ...config, port: 0 }, { log, onRound: opts.onRound, writeHistory: opts.writeHistory });
    const width = String(config.clients).length;
    const clientLog = log.child({ side: 'client' });
    const agents = shards.map((indices, i) => {
      const fallback = new PoolTrainer(pool, indices);
      const trainer = opts.trainerFor ? opts.trainerFor(i, fallback) : fallback;
      const name = `client-${String(i + 1).padStart(width, '0')}`;
      return new ClientAgent({ url: coordinator!.url, name, trainer, log: clientLog.child({ client: name }), maxPayloadBytes: config.maxPayloadBytes }).run();
    });
    const [result, settled] = await Promise.all([coordinator.done, Promise.allSettled(agents)]);
    return { ...result, agents: settled, workers };
  } finally {
    await coordinator?.close();
    await pool.close();
  }
}
