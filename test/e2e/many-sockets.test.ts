import { describe, expect, it } from 'vitest';
import { ClientAgent, type AgentOutcome } from '../../client/agent.ts';
import type { Trainer } from '../../client/trainer.ts';
import { connectionsWithinFdLimit } from '../../coordinator/connection-gate.ts';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/coordinator.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { toBase64 } from '../../shared/crypto/identity-file.ts';
import { generateIdentity } from '../../shared/crypto/primitives.ts';
import { silentLogger } from '../../shared/log.ts';
import { virtualClientName } from '../../simulations/virtual-clients.ts';
import { testConfig } from './helpers.ts';

/**
 * A real coordinator holding 1,000 WebSocket sessions at once on loopback: 1,000 real client
 * agents, each with its own identity, socket, secure handshake and hello — so the caps on
 * unauthenticated connections, the handshakes queued behind each other and the per-session
 * state are all exercised as a deployment would — then two rounds that ask 1% of them to train.
 * The agents train nothing (a zero delta): what is under test is the connections, not the model.
 * How long it takes and how much memory the coordinator needs is bench/ws-scale-bench.ts's to say.
 */
const CLIENTS = 1000;
const FRACTION = 0.01;
const ROUNDS = 2;

/** Both ends of every loopback socket live in this process, beside the coordinator's own descriptors (connectionsWithinFdLimit keeps a reserve). */
const DESCRIPTORS_NEEDED = 2 * CLIENTS + 64;
const descriptors = connectionsWithinFdLimit();

/** Answers every fit with a zero delta of the model's size, once `held` lets it (round 1 waits while the test looks). */
function zeroTrainer(held: Promise<void>): Trainer {
  return {
    fit: async (_spec, weights) => {
      await held;
      return { delta: new Float32Array(weights.length), numExamples: 1, metrics: { loss: 0, epochs: 1 } };
    },
    evaluate: async () => ({ numExamples: 0, metrics: {} }),
  };
}

/** The names GET /status lists once it lists `n` (polled; bounded by `timeoutMs`, then whatever it lists last). */
async function connectedNames(port: number, n: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { clients: { name: string }[] };
    if (body.clients.length >= n || Date.now() > deadline) return body.clients.map((c) => c.name);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('1,000 concurrent WebSocket clients on loopback', () => {
  it(`this process may hold both ends of ${CLIENTS} loopback sockets (ulimit -n)`, () => {
    // undefined: no readable limit (not Linux) or unlimited
    if (descriptors === undefined) return;
    expect(
      descriptors,
      `the soft file-descriptor limit leaves room for ${descriptors} connections; ${DESCRIPTORS_NEEDED} are needed: raise it (ulimit -n 4096)`,
    ).toBeGreaterThanOrEqual(DESCRIPTORS_NEEDED);
  });

  it.skipIf(descriptors !== undefined && descriptors < DESCRIPTORS_NEEDED)(
    `the coordinator admits and holds ${CLIENTS} authenticated sessions at once, and rounds with C = ${FRACTION} complete`,
    async () => {
      const coordinatorIdentity = generateIdentity();
      const identities = Array.from({ length: CLIENTS }, () => generateIdentity());
      const names = identities.map((_, i) => virtualClientName(i, CLIENTS));
      const allowlist = new Map(identities.map((id, i) => [toBase64(id.publicKey), names[i]!]));
      const rounds: RoundRecord[] = [];
      // round 1 starts once all have said hello, and cannot end before the test has seen them all connected
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let coordinator: RunningCoordinator | undefined;
      let settled: Promise<PromiseSettledResult<AgentOutcome>[]> | undefined;
      // every client connects at once from 127.0.0.1: the unauthenticated caps must admit them all, and their
      // handshakes queue behind each other on a small machine
      const admitAll = CLIENTS + 64;
      const config = testConfig({
        clients: CLIENTS,
        rounds: ROUNDS,
        fractionFit: FRACTION,
        evaluate: 'none',
        statusEndpoint: true,
        maxUnauthenticated: admitAll,
        maxUnauthenticatedPerAddress: admitAll,
        // bounds that end a stuck run inside the test's 60 s: connecting takes ~5 s and a round ~1 s on a loaded 2-core machine
        handshakeTimeoutMs: 25_000,
        waitForClientsTimeoutMs: 25_000,
        roundTimeoutMs: 15_000,
      });
      try {
        coordinator = await startCoordinator(config, {
          log: silentLogger,
          writeHistory: false,
          security: { identity: coordinatorIdentity, admission: { allowlist } },
          onRound: (r) => rounds.push(r),
        });
        const url = coordinator.url;
        settled = Promise.allSettled(
          identities.map((identity, i) =>
            new ClientAgent({
              url,
              name: names[i]!,
              trainer: zeroTrainer(held),
              log: silentLogger,
              security: { identity, coordinatorKey: coordinatorIdentity.publicKey },
              connectTimeoutMs: 25_000,
              // a dropped connection must fail the test, not be ridden out
              reconnect: false,
            }).run(),
          ),
        );
        // the coordinator holds every session at once, by name
        const connected = await connectedNames(coordinator.port, CLIENTS, 25_000).finally(release);
        expect(connected).toHaveLength(CLIENTS);
        expect(new Set(connected)).toEqual(new Set(names));
        const [result, outcomes] = await Promise.all([coordinator.done, settled]);
        const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(failed.map((f) => String(f.reason)).slice(0, 3)).toEqual([]);
        const done = outcomes.map((o) => (o as PromiseFulfilledResult<AgentOutcome>).value);
        expect(done.every((o) => o.reason === 'run complete')).toBe(true);
        // each round asked ⌈C · 1000⌉ = 10 clients, and all of them answered
        expect(result.history.rounds).toHaveLength(ROUNDS);
        for (const r of rounds) expect({ round: r.round, clients: r.clients, failures: r.failures }).toEqual({ round: r.round, clients: 10, failures: 0 });
        expect(done.reduce((n, o) => n + o.rounds, 0)).toBe(ROUNDS * 10);
      } finally {
        await coordinator?.close();
        // no agent outlives the test: closed by the coordinator, each settles at once
        await settled;
      }
    },
    60_000,
  );
});
