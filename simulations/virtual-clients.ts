import { ClientAgent, type AgentOptions, type AgentOutcome } from '../client/agent.ts';
import type { Trainer } from '../client/trainer.ts';
import type { Logger } from '../shared/log.ts';
import { PoolTrainer } from './pool-trainer.ts';
import type { WorkerPool } from './worker-pool.ts';

export interface VirtualClientsOptions {
  /** Coordinator address. */
  readonly url: string;
  /** One shard (row indices into the pool's dataset) per client: the rows it trains on. */
  readonly shards: readonly Uint32Array[];
  /** Per client, the held-out rows it scores models on (federated evaluation); none when absent. */
  readonly holdouts?: readonly Uint32Array[];
  readonly pool: WorkerPool;
  readonly log: Logger;
  readonly maxPayloadBytes?: number;
  /** Per-client trainer override (tests use it to inject faulty clients). */
  readonly trainerFor?: (index: number, fallback: Trainer) => Trainer;
  /** Per-client secure-channel material; absent for an insecure run. */
  readonly securityFor?: (index: number) => AgentOptions['security'];
  /** Per-client local-DP noise by round (seeded in simulations). */
  readonly noiseFor?: (index: number) => AgentOptions['noise'];
  /** Per-client secure-aggregation dropouts (tests inject them). */
  readonly dropAtFor?: (index: number) => AgentOptions['dropAt'];
}

/** The name of virtual client `index` (0-based) among `count`: client-01 … client-NN. */
export function virtualClientName(index: number, count: number): string {
  return `client-${String(index + 1).padStart(String(count).length, '0')}`;
}

/**
 * Real client agents, one per shard, named client-01..client-NN, whose training
 * and evaluation run on the shared worker pool. Settles when every agent has finished or failed.
 */
export function runVirtualClients(options: VirtualClientsOptions): Promise<PromiseSettledResult<AgentOutcome>[]> {
  const clientLog = options.log.child({ side: 'client' });
  const agents = options.shards.map((indices, i) => {
    const fallback = new PoolTrainer(options.pool, indices, options.holdouts?.[i]);
    const trainer = options.trainerFor ? options.trainerFor(i, fallback) : fallback;
    const name = virtualClientName(i, options.shards.length);
    // in-process over loopback a lost connection is a modelled fault (a dropout), not a network to ride out
    return new ClientAgent({
      url: options.url,
      name,
      trainer,
      log: clientLog.child({ client: name }),
      maxPayloadBytes: options.maxPayloadBytes,
      security: options.securityFor?.(i),
      noise: options.noiseFor?.(i),
      dropAt: options.dropAtFor?.(i),
      reconnect: false,
    }).run();
  });
  return Promise.allSettled(agents);
}
