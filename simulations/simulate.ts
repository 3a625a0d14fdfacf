import { availableParallelism } from 'node:os';
import type { AgentOutcome } from '../client/agent.ts';
import type { Trainer } from '../client/trainer.ts';
import { startCoordinator, type CoordinatorOptions, type CoordinatorResult, type RunningCoordinator, type StrategyChoice } from '../coordinator/coordinator.ts';
import type { ResumePoint } from '../coordinator/resume.ts';
import type { RoundRecord } from '../coordinator/round-loop.ts';
import type { RunConfig } from '../shared/config.ts';
import { loadData, type LoadedData } from '../shared/data/run-data.ts';
import { shardSource } from '../shared/data/partition.ts';
import { localHoldout, localHoldoutSeed } from '../shared/data/holdout.ts';
import type { Logger } from '../shared/log.ts';
import { runVirtualClients, virtualClientName, type VirtualClientsOptions } from './virtual-clients.ts';
import { MemoryTransport, type MemoryClient } from './memory-transport.ts';
import { lazyTrainer } from './pool-trainer.ts';
import { makeSimulationKeys } from './keys.ts';
import { attacker, type Attack } from './attacks.ts';
import { straggling } from './stragglers.ts';
import { WorkerPool } from './worker-pool.ts';
import { seededNoiseSource } from '../shared/privacy/index.ts';
import type { SecAggWirePhase } from '../shared/protocol/messages.ts';

export interface SimulateOptions {
  readonly log: Logger;
  readonly onRound?: (record: RoundRecord) => void;
  /** Each round's results and failures by client, as they are collected (CoordinatorOptions.onClients). */
  readonly onClients?: CoordinatorOptions['onClients'];
  /** Over WebSockets: the coordinator listens at `url` (an ephemeral loopback port), before any client connects. */
  readonly onListening?: (url: string) => void;
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

/** Above this many clients a simulation's `transport: auto` is the in-memory transport; up to it, loopback WebSockets. */
export const WS_TRANSPORT_MAX_CLIENTS = 100;

/** The transport a simulation runs over: the one asked for, or with `auto` WebSockets up to WS_TRANSPORT_MAX_CLIENTS clients. */
export function simulationTransport(config: RunConfig): 'ws' | 'memory' {
  if (config.transport !== 'auto') return config.transport;
  return config.clients <= WS_TRANSPORT_MAX_CLIENTS ? 'ws' : 'memory';
}

/**
 * A whole federated run on one machine: the real coordinator and `clients` virtual clients on
 * shards of the run's data (the embedded MNIST training digits by default), their training on a
 * worker pool sized to the cores. Over the `ws` transport each client is a real client agent
 * talking to the coordinator over loopback WebSockets, with the secure channel; over `memory`
 * (simulations/memory-transport.ts) it is a handle the coordinator calls directly, running the
 * same client code without a socket — what lets one machine simulate 100,000 clients. Both give
 * the same model bytes for the same seed.
 */
export async function simulate(config: RunConfig, opts: SimulateOptions): Promise<SimulationResult> {
  const { log } = opts;
  const data = opts.data ?? (await loadData(config.data, config.clients, config.seed));
  const { train } = data;
  // synthetic data comes partitioned by device; MNIST is cut by `partition` (sample:<rows> draws a client's rows when it is asked)
  const shardOf = data.shards ? (i: number) => data.shards![i]! : shardSource(config.data.partition, train.y, train.classes, config.clients, config.seed);
  // with federated evaluation each client holds out part of its shard, as `client --shard k/N --local-validation f` does
  const fraction = config.data.localValidation;
  const rowsOf = (i: number): { train: Uint32Array; holdout?: Uint32Array } => {
    if (fraction === undefined) return { train: shardOf(i) };
    const split = localHoldout({ dataset: train, indices: shardOf(i) }, fraction, localHoldoutSeed(config.seed, i + 1));
    return { train: split.train.indices!, holdout: split.holdout.indices! };
  };
  const workers = opts.workers ?? Math.min(availableParallelism(), config.clients);
  const pool = await WorkerPool.create({ size: workers, dataset: train, engine: config.engine, backend: config.backend, log });
  const transport = simulationTransport(config);
  log.info({ workers, transport }, `worker pool: ${workers} workers; ${transport === 'ws' ? 'loopback WebSockets' : 'in-memory transport'}`);
  const trainerOf = (i: number, honest: Trainer): Trainer => {
    const own = straggling(opts.trainerFor ? opts.trainerFor(i, honest) : honest, config.data.stragglers);
    return opts.attack && i < opts.attack.attackers ? attacker(own, opts.attack.attack, i) : own;
  };
  const noiseFor = (i: number) => (round: number) => seededNoiseSource(config.seed, `starling simulation: local dp, client ${i}, round ${round}`);
  const dropAtFor = opts.dropAt ? (i: number) => (round: number, phase: SecAggWirePhase) => opts.dropAt!(i, round, phase) : undefined;
  const coordinatorOptions = {
    log,
    onRound: opts.onRound,
    onClients: opts.onClients,
    writeHistory: opts.writeHistory,
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
  };
  const stopOn = (running: RunningCoordinator) => {
    if (opts.signal?.aborted) running.stop();
    opts.signal?.addEventListener('abort', () => running.stop(), { once: true });
  };
  try {
    let run: Omit<SimulationResult, 'workers' | 'engine'>;
    if (transport === 'memory') {
      run = await inMemory(config, coordinatorOptions, stopOn, (i) => ({
        trainer: trainerOf(
          i,
          lazyTrainer(pool, () => rowsOf(i)),
        ),
        noise: noiseFor(i),
        dropAt: dropAtFor?.(i),
      }));
    } else {
      const rows = Array.from({ length: config.clients }, (_, i) => rowsOf(i));
      run = await overWebSockets(config, coordinatorOptions, stopOn, opts.onListening, {
        shards: rows.map((r) => r.train),
        holdouts: fraction === undefined ? undefined : rows.map((r) => r.holdout!),
        pool,
        log,
        maxPayloadBytes: config.server.maxPayloadBytes,
        trainerFor: trainerOf,
        dropAtFor,
        noiseFor,
      });
    }
    return { ...run, workers, engine: pool.engine };
  } finally {
    await pool.close();
  }
}

/** The simulation over the in-memory transport: the coordinator calls `client(i)`'s parts for each task client i gets. */
async function inMemory(
  config: RunConfig,
  coordinatorOptions: CoordinatorOptions,
  stopOn: (running: RunningCoordinator) => void,
  client: (index: number) => MemoryClient,
): Promise<Omit<SimulationResult, 'workers' | 'engine'>> {
  let clients: MemoryTransport | undefined;
  const names = Array.from({ length: config.clients }, (_, i) => virtualClientName(i, config.clients));
  const running = await startCoordinator(config, {
    ...coordinatorOptions,
    transport: (runId) => {
      clients = new MemoryTransport({ runId, names, client });
      return clients;
    },
  });
  try {
    stopOn(running);
    const result = await running.done;
    return { ...result, agents: clients!.outcomes() };
  } finally {
    await running.close();
  }
}

/** The simulation over loopback WebSockets: a coordinator listening on an ephemeral port, and one real client agent per shard. */
async function overWebSockets(
  config: RunConfig,
  coordinatorOptions: CoordinatorOptions,
  stopOn: (running: RunningCoordinator) => void,
  onListening: ((url: string) => void) | undefined,
  agents: Omit<VirtualClientsOptions, 'url' | 'securityFor'>,
): Promise<Omit<SimulationResult, 'workers' | 'engine'>> {
  let coordinator: RunningCoordinator | undefined;
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
      { ...coordinatorOptions, security: keys?.coordinator },
    );
    stopOn(coordinator);
    onListening?.(coordinator.url);
    const coordinatorKey = keys?.coordinator.identity.publicKey;
    const settled = runVirtualClients({
      ...agents,
      url: coordinator.url,
      securityFor: keys && coordinatorKey ? (i) => ({ identity: keys.clients[i]!, coordinatorKey }) : undefined,
    });
    const [result, outcomes] = await Promise.all([coordinator.done, settled]);
    return { ...result, agents: outcomes };
  } finally {
    await coordinator?.close();
    keys?.dispose();
  }
}
