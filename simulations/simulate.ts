import { availableParallelism } from 'node:os';
import type { AgentOutcome } from '../client/agent.ts';
import type { Trainer } from '../client/trainer.ts';
import { startCoordinator, type CoordinatorResult, type StrategyChoice } from '../coordinator/coordinator.ts';
import type { ResumePoint } from '../coordinator/resume.ts';
import type { RoundRecord } from '../coordinator/round-loop.ts';
import type { RunConfig } from '../shared/config.ts';
import { loadData, type LoadedData } from '../shared/data/run-data.ts';
import { partition } from '../shared/data/partition.ts';
import { localHoldout, localHoldoutSeed } from '../shared/data/holdout.ts';
import type { Logger } from '../shared/log.ts';
import { runVirtualClients, virtualClientName } from './virtual-clients.ts';
import { makeSimulationKeys } from './keys.ts';
import { attacker, type Attack } from './attacks.ts';
import { straggling } from './stragglers.ts';
import { WorkerPool } from './worker-pool.ts';
import { seededNoiseSource } from '../shared/privacy/index.ts';
import type { SecAggWirePhase } from '../shared/protocol/messages.ts';

export interface SimulateOptions {
  readonly log: Logger;
  readonly onRound?: (record: RoundRecord) => void;
  /** Training workers; default min(cores, clients). */
  readonly workers?: number;
  /** Per-client trainer override (tests use it to inject faulty clients). */
  readonly trainerFor?: (index: number, fallback: Trainer) => Trainer;
  /** Byzantine clients: the first `attackers` clients send the attack's delta. */
  readonly attack?: { readonly attack: Attack; readonly attackers: number };
  readonly writeHistory?: boolean;
  /** Secure-aggregation dropouts: client `index` (0-based) disconnects before answering `phase` of `round` when this returns true. */
  readonly dropAt?: (index: number, round: number, phase: SecAggWirePhase) => boolean;
  /** With a validation split: score the kept model on the test split at the end (default true; tuning trials pass false). */
  readonly scoreTest?: boolean;
  /** Asked after each round: true ends the run there (a tuning budget that ran out). */
  readonly shouldStop?: () => boolean;
  /** Continue a stopped or crashed run from its last good checkpoint (coordinator/resume.ts); `config` is then the point's. */
  readonly resume?: ResumePoint;
  /** The run's data already loaded (loadData of config.data), e.g. to show its cleaning report first; loaded here when absent. */
  readonly data?: LoadedData;
  /** Aborting stops the run cleanly (RunningCoordinator.stop): resumable later with `resume`. */
  readonly signal?: AbortSignal;
  /** A strategy of the program's own instead of `config.strategy` (CoordinatorOptions.strategy). */
  readonly strategy?: StrategyChoice;
  /** The initial global model (CoordinatorOptions.initialWeights): e.g. a tfjs model object's own weights, from tfjsModelSpec. */
  readonly initialWeights?: Float32Array;
}

export interface SimulationResult extends CoordinatorResult {
  readonly agents: PromiseSettledResult<AgentOutcome>[];
  readonly workers: number;
  /** The engine the clients trained with ("simd", or the tfjs backend's name). */
  readonly engine: string;
}

/**
 * A whole federated run on one machine: the real coordinator and `clients` real
 * client agents talking over loopback WebSockets, on shards of the run's data
 * (the embedded MNIST training digits by default). The agents are cheap; their training runs on a
 * worker pool sized to the cores.
 */
export async function simulate(config: RunConfig, opts: SimulateOptions): Promise<SimulationResult> {
  const { log } = opts;
  const data = opts.data ?? (await loadData(config.data, config.clients, config.seed));
  const { train } = data;
  // synthetic data comes partitioned by device; MNIST is cut by `partition`
  const shards = data.shards ?? partition(config.data.partition, train.y, train.classes, config.clients, config.seed);
  // with federated evaluation each client holds out part of its shard, as `client --shard k/N --local-validation f` does
  const fraction = config.data.localValidation;
  const splits =
    fraction === undefined
      ? undefined
      : shards.map((rows, i) => localHoldout({ dataset: train, indices: rows }, fraction, localHoldoutSeed(config.seed, i + 1)));
  const workers = opts.workers ?? Math.min(availableParallelism(), config.clients);
  const pool = await WorkerPool.create({ size: workers, dataset: train, engine: config.engine, backend: config.backend, log });
  log.info({ workers }, `worker pool: ${workers} workers`);
  let coordinator: Awaited<ReturnType<typeof startCoordinator>> | undefined;
  // the secure channel by default, with keys made in a temporary folder
  const keys = config.server.insecure ? undefined : makeSimulationKeys(config.clients, (i) => virtualClientName(i, config.clients));
  try {
    // an ephemeral port: a simulation never collides with a real coordinator
    // every virtual client connects at once from 127.0.0.1: the unauthenticated-connection caps must admit them all
    const { server } = config;
    const admitAll = Math.max(server.maxUnauthenticated, config.clients + 16);
    coordinator = await startCoordinator(
      {
        ...config,
        server: { ...server, port: 0, maxUnauthenticated: admitAll, maxUnauthenticatedPerAddress: Math.max(server.maxUnauthenticatedPerAddress, admitAll) },
      },
      {
        log,
        onRound: opts.onRound,
        writeHistory: opts.writeHistory,
        security: keys?.coordinator,
        scoreTest: opts.scoreTest,
        shouldStop: opts.shouldStop,
        // a simulation's DP noise is seeded from the run seed, so runs reproduce (and are therefore not private)
        noise: seededNoiseSource(config.seed, 'starling simulation: central dp'),
        // and its client sample follows the run seed too: ε then reports the unamplified figures beside the amplified one
        replayableSampling: true,
        resume: opts.resume,
        // the data read once: the clients' shards and the coordinator's evaluation come from the same rows
        data,
        strategy: opts.strategy,
        initialWeights: opts.initialWeights,
      },
    );
    const running = coordinator;
    if (opts.signal?.aborted) running.stop();
    opts.signal?.addEventListener('abort', () => running.stop(), { once: true });
    const coordinatorKey = keys?.coordinator.identity.publicKey;
    const agents = runVirtualClients({
      url: coordinator.url,
      shards: splits ? splits.map((s) => s.train.indices!) : shards,
      holdouts: splits?.map((s) => s.holdout.indices!),
      pool,
      log,
      maxPayloadBytes: config.server.maxPayloadBytes,
      trainerFor: (i, t) => {
        const own = straggling(opts.trainerFor ? opts.trainerFor(i, t) : t, config.data.stragglers);
        return opts.attack && i < opts.attack.attackers ? attacker(own, opts.attack.attack, i) : own;
      },
      securityFor: keys && coordinatorKey ? (i) => ({ identity: keys.clients[i]!, coordinatorKey }) : undefined,
      dropAtFor: opts.dropAt ? (i) => (round, phase) => opts.dropAt!(i, round, phase) : undefined,
      noiseFor: (i) => (round) => seededNoiseSource(config.seed, `starling simulation: local dp, client ${i}, round ${round}`),
    });
    const [result, settled] = await Promise.all([coordinator.done, agents]);
    return { ...result, agents: settled, workers, engine: pool.engine };
  } finally {
    await coordinator?.close();
    await pool.close();
    keys?.dispose();
  }
}
