import { ClientAgent } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { sha256 } from '../../coordinator/history.ts';
import type { RunConfigInput } from '../../shared/config.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { testConfig, testKeys } from './helpers.ts';

export const ROUNDS = 2;

/**
 * Two honest clients (MNIST shards 1 and 2 of 10) and a coordinator on the secure channel,
 * with whatever an attack does beside them; `keys.ids[2]` is a listed key a hostile peer may use.
 * Every attacked run must end with the weights of the attack-free one.
 */
export function attackHarness() {
  const engine = SimdEngine.create();
  const keys = testKeys(3);

  async function honest(url: string, i: number, reconnect?: { initialDelayMs: number }) {
    const data = await openDataSource({ data: { kind: 'mnist' }, shard: `${i + 1}/10`, partition: { kind: 'iid' }, seed: 42 });
    return new ClientAgent({
      url,
      name: `honest-${i}`,
      trainer: new EngineTrainer(engine, data),
      log: silentLogger,
      security: keys.client(i),
      ...(reconnect ? { reconnect } : {}),
    }).run();
  }

  /**
   * Runs a coordinator with the two honest clients and whatever `attack` does; returns the
   * final weights' hash, what was logged, and the run's rounds. `clients` is how many the
   * coordinator waits for (3 when the attacker must be inside a round); with 2, the attack
   * completes before the honest clients start unless `concurrent`.
   */
  async function run(
    attack: (url: string) => Promise<void>,
    opts: Partial<RunConfigInput> & { concurrent?: boolean; reconnect?: { initialDelayMs: number } } = {},
  ) {
    const { concurrent, reconnect, ...over } = opts;
    const log = memoryLogger();
    const config = testConfig({ clients: 2, rounds: ROUNDS, handshakeTimeoutMs: 5000, ...over });
    const coordinator = await startCoordinator(config, { log, engine, writeHistory: false, security: keys.coordinator });
    try {
      const attacking = attack(coordinator.url);
      if (config.clients === 2 && !concurrent) await attacking; // refused before the honest clients arrive
      const outcomes = await Promise.all([honest(coordinator.url, 0, reconnect), honest(coordinator.url, 1, reconnect)]);
      await attacking;
      const result = await coordinator.done;
      if (outcomes.some((o) => o.rounds !== ROUNDS)) throw new Error(`an honest client ran ${outcomes.map((o) => o.rounds).join(', ')} rounds, not ${ROUNDS}`);
      return { hash: sha256(result.weights), text: log.entries.map((e) => e.msg ?? '').join('\n'), rounds: result.history.rounds };
    } finally {
      await coordinator.close();
    }
  }

  return { engine, keys, honest, run };
}
