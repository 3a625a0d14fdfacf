import { ClientAgent, type AgentOutcome } from '../client/agent.ts';
import type { Trainer } from '../client/trainer.ts';
import type { Logger } from '../shared/log.ts';
import { PoolTrainer } from './pool-trainer.ts';
import type { WorkerPool } from './worker-pool.ts';

export interface VirtualClientsOptions {
  /** Coordinator address. */
  readonly url: string;
  /** One shard (row indices into the pool's dataset) per client. */
  readonly shards: readonly Uint32Array[];
  readonly pool: WorkerPool;
  readonly log: Logger;
  readonly maxPayloadBytes?: number;
  /** Per-client trainer override (tests use it to inject faulty clients). */
  readonly trainerFor?: (index: number, fallback: Trainer) => Trainer;
}

/**
 * Real client agents, one per shard, named client-01..client-NN, whose training
 * runs on the shared worker pool. Settles when every agent has finished or failed.
 */
export function runVirtualClients(o: VirtualClientsOptions): Promise<PromiseSettledResult<AgentOutcome>[]> {
  const width = String(o.shards.length).length;
  const clientLog = o.log.child({ side: 'client' });
  const agents = o.shards.map((indices, i) => {
    const fallback = new PoolTrainer(o.pool, indices);
    const trainer = o.trainerFor ? o.trainerFor(i, fallback) : fallback;
    const name = `client-${String(i + 1).padStart(width, '0')}`;
    return new ClientAgent({ url: o.url, name, trainer, log: clientLog.child({ client: name }), maxPayloadBytes: o.maxPayloadBytes }).run();
  });
  return Promise.allSettled(agents);
}
