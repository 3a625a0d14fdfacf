import { describe, expect, it } from 'vitest';
import type { Trainer } from '../../client/trainer.ts';
import type { RunConfigInput } from '../../shared/config.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { parseAttack } from '../../simulations/attacks.ts';
import { simulate, simulationTransport, type SimulateOptions } from '../../simulations/simulate.ts';
import { testConfig } from '../e2e/helpers.ts';

/** The same run over loopback WebSockets and over the in-memory transport. */
async function both(over: Partial<RunConfigInput>, opts: Partial<SimulateOptions> = {}) {
  const run = (transport: 'ws' | 'memory') => simulate(testConfig({ ...over, transport }), { log: silentLogger, writeHistory: false, ...opts });
  return { ws: await run('ws'), memory: await run('memory') };
}

/** What must match between the two: the model's bytes and every round's scores and counts (not its seconds or bytes on the wire). */
function sameRun(a: Awaited<ReturnType<typeof simulate>>, b: Awaited<ReturnType<typeof simulate>>): void {
  expect(b.history.finalWeightsSha256).toBe(a.history.finalWeightsSha256);
  const scores = (r: typeof a) =>
    r.history.rounds.map(({ accuracy, loss, clients, failures, partial, trainLoss, skipped, federated, epsilon }) => ({
      accuracy,
      loss,
      clients,
      failures,
      partial,
      trainLoss,
      skipped,
      federated,
      epsilon,
    }));
  expect(scores(b)).toEqual(scores(a));
}

describe('the in-memory transport', () => {
  it('gives the bytes the WebSocket transport gives: sampling, stragglers, federated evaluation, frozen layers', async () => {
    const { ws, memory } = await both({
      clients: 6,
      rounds: 2,
      fractionFit: 0.5,
      partition: 'dirichlet:0.5',
      train: { epochs: 2 },
      stragglers: 0.5,
      localValidation: 0.2,
      freeze: ['dense0'],
      seed: 11,
    });
    sameRun(ws, memory);
    expect(memory.history.rounds.some((r) => r.partial > 0)).toBe(true);
    expect(memory.history.rounds[0]!.federated).not.toBeNull();
    expect(memory.agents.map((a) => a.status)).toEqual(ws.agents.map((a) => a.status));
  });

  it('gives the same bytes under secure aggregation with a dropout, and under local and central DP', async () => {
    const dropAt: SimulateOptions['dropAt'] = (i, round, phase) => i === 1 && round === 2 && phase === 'maskedInput';
    const secure = await both({ clients: 5, rounds: 2, secagg: true, secaggThreshold: 3 }, { dropAt });
    sameRun(secure.ws, secure.memory);
    expect(secure.memory.history.rounds[1]).toMatchObject({ clients: 4 });
    // the client that dropped out left the run, on both transports
    expect(secure.memory.agents.map((a) => a.status)).toEqual(secure.ws.agents.map((a) => a.status));
    expect(secure.memory.agents[1]!.status).toBe('rejected');
    const local = await both({ clients: 3, rounds: 2, dp: 'local:z=0.05,clip=5' });
    sameRun(local.ws, local.memory);
    const central = await both({ clients: 6, rounds: 2, fractionFit: 0.5, dp: 'central:z=2,clip=1,adaptive=0.5,bitNoise=5' });
    sameRun(central.ws, central.memory);
  });

  it('gives the same bytes with a robust strategy (buffered) under attack, and with a server optimizer', async () => {
    const attack = { attack: parseAttack('sign-flip:scale=4'), attackers: 1 };
    const krum = await both({ clients: 5, rounds: 2, strategy: 'multikrum:f=1,m=3' }, { attack });
    sameRun(krum.ws, krum.memory);
    const adam = await both({ clients: 4, rounds: 2, strategy: 'fedadam:lr=0.01' });
    sameRun(adam.ws, adam.memory);
  });

  it('a client whose trainer throws leaves the run as its agent would; a diverged one only fails its task', async () => {
    const broken = (t: Trainer, fail: 'throw' | 'nan'): Trainer => ({
      evaluate: (spec, weights) => t.evaluate(spec, weights),
      async fit(spec, weights, cfg, seed) {
        const r = await t.fit(spec, weights, cfg, seed);
        if (fail === 'throw') throw new Error('disk on fire');
        r.delta[3] = Number.NaN;
        return r;
      },
    });
    const trainerFor = (i: number, t: Trainer) => (i === 0 ? broken(t, 'throw') : i === 1 ? broken(t, 'nan') : t);
    const log = memoryLogger();
    const kinds: string[][] = [];
    const onClients: SimulateOptions['onClients'] = (_round, _results, failures) => kinds.push(failures.map((f) => `${f.client.name} ${f.kind}`));
    const { ws, memory } = await both({ clients: 4, rounds: 2 }, { trainerFor, log, onClients });
    sameRun(ws, memory);
    // why each failed, in a word, the same over both transports: the thrower's own error, then the diverged training
    const expected = [['client-1 client_error', 'client-2 diverged'], ['client-2 diverged']];
    expect(kinds).toEqual([...expected, ...expected]);
    expect(memory.history.rounds.map((r) => [r.clients, r.failures])).toEqual([
      [2, 2],
      [2, 1],
    ]);
    expect(memory.agents.map((a) => a.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(log.entries.some((e) => /client-1 failed: disk on fire/.test(e.msg ?? ''))).toBe(true);
  });

  it('a client that misses the deadline fails its task and stays in the run; its late answer is dropped', async () => {
    const slow = (t: Trainer): Trainer => ({
      evaluate: (spec, weights) => t.evaluate(spec, weights),
      async fit(spec, weights, cfg, seed) {
        await new Promise((r) => setTimeout(r, 2500));
        return t.fit(spec, weights, cfg, seed);
      },
    });
    const log = memoryLogger();
    const config = testConfig({ clients: 3, rounds: 2, roundTimeoutMs: 1000, transport: 'memory' });
    const r = await simulate(config, { log, writeHistory: false, trainerFor: (i, t) => (i === 2 ? slow(t) : t) });
    expect(r.history.rounds.map((x) => [x.clients, x.failures])).toEqual([
      [2, 1],
      [2, 1],
    ]);
    expect(log.entries.some((e) => /client-3 did not answer the round 1 task before the deadline/.test(e.msg ?? ''))).toBe(true);
    expect(r.agents.map((a) => a.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
  });

  it('auto picks WebSockets up to 100 clients and memory above', () => {
    expect(simulationTransport(testConfig({ clients: 100 }))).toBe('ws');
    expect(simulationTransport(testConfig({ clients: 101 }))).toBe('memory');
    expect(simulationTransport(testConfig({ clients: 5, transport: 'memory' }))).toBe('memory');
    expect(() => testConfig({ transport: 'udp' as 'ws' })).toThrow(/transport/);
  });

  it('simulates 1,000 MNIST clients for 2 rounds (C = 0.1), every sampled client answering', async () => {
    const r = await simulate(testConfig({ clients: 1000, rounds: 2, fractionFit: 0.1 }), { log: silentLogger, writeHistory: false });
    expect(r.history.rounds.map((x) => [x.clients, x.failures])).toEqual([
      [100, 0],
      [100, 0],
    ]);
    expect(r.history.rounds[1]!.accuracy!).toBeGreaterThan(r.history.rounds[0]!.accuracy! - 0.05);
    expect(r.agents).toHaveLength(1000);
    // C = 0.1 of 1,000 clients with 8 digits each: each round hands the model to 100 clients and takes 100 deltas back
    expect(r.history.rounds[0]!.bytesOut).toBe(100 * 101_770 * 4);
  });

  it('sample:<rows> gives each of 10,000 clients rows of its own, drawn only when it is asked', async () => {
    const r = await simulate(testConfig({ clients: 10_000, rounds: 1, fractionFit: 0.002, partition: 'sample:16', evaluate: 'none' }), {
      log: silentLogger,
      writeHistory: false,
    });
    expect(r.history.rounds[0]).toMatchObject({ clients: 20, failures: 0 });
    expect(r.history.rounds[0]!.trainLoss).toBeGreaterThan(0);
  });
});
