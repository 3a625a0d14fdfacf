import { describe, expect, it } from 'vitest';
import type { Trainer } from '../../client/trainer.ts';
import { ConfigError } from '../../shared/errors.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { simulate } from '../../simulations/simulate.ts';
import { fixedPoint } from '../../shared/secagg/index.ts';
import { testConfig } from '../e2e/helpers.ts';
import { defaultThreshold } from '../../coordinator/secagg-round.ts';

/**
 * Secure aggregation end to end over the real WebSocket protocol. By default secagg releases
 * the UNWEIGHTED mean of the clients' clipped deltas; the plain runs it is compared with report
 * one example per client, so FedAvg's example-weighted mean is unweighted too. The clip is
 * large enough never to bind, so the only difference is fixed-point quantization: the
 * decoded sum of n encodings is within n/(2s) of the float sum per coordinate, the mean
 * within 1/(2s) (plus float32 rounding of the new weights).
 */
const unweighted = (t: Trainer): Trainer => ({
  ...t,
  fit: async (spec, weights, cfg, seed) => ({ ...(await t.fit(spec, weights, cfg, seed)), numExamples: 1 }),
  evaluate: (spec, weights) => t.evaluate(spec, weights),
});

const failing = (t: Trainer): Trainer => ({ ...unweighted(t), fit: async () => Promise.reject(new Error('this client fails to train')) });

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const CLIP = 100;

describe('simulate --secagg', () => {
  it('gives the plain (unweighted) FedAvg model within the fixed-point bound, over 2 rounds; SecAgg+ too', async () => {
    const base = { clients: 4, rounds: 1, evaluate: 'none' as const, secaggClip: CLIP };
    const plain = await simulate(testConfig(base), { log: silentLogger, writeHistory: false, trainerFor: (_, t) => unweighted(t) });
    const secure = await simulate(testConfig({ ...base, secagg: true }), { log: silentLogger, writeHistory: false, trainerFor: (_, t) => unweighted(t) });
    const bound = 1 / (2 * fixedPoint({ clip: CLIP, maxClients: 4 }).scale);
    expect(secure.history.rounds[0]).toMatchObject({ clients: 4, failures: 0, secaggErrorBound: bound });
    const diff = maxDiff(plain.weights, secure.weights);
    expect(diff).toBeLessThanOrEqual(bound + 1e-6);
    expect(secure.weights).not.toEqual(new Float32Array(secure.weights.length)); // it trained
    // two rounds: the second round trains from a model within the bound, so the models stay close
    const plain2 = await simulate(testConfig({ ...base, rounds: 2 }), { log: silentLogger, writeHistory: false, trainerFor: (_, t) => unweighted(t) });
    const secure2 = await simulate(testConfig({ ...base, rounds: 2, secagg: true }), {
      log: silentLogger,
      writeHistory: false,
      trainerFor: (_, t) => unweighted(t),
    });
    expect(secure2.history.rounds.map((r) => r.clients)).toEqual([4, 4]);
    expect(maxDiff(plain2.weights, secure2.weights)).toBeLessThan(1e-4);
    expect(maxDiff(plain2.weights, plain.weights)).toBeGreaterThan(1e-3); // round 2 moved the model
    const plus = await simulate(testConfig({ ...base, clients: 6, secagg: true, secaggNeighbours: 2, secaggThreshold: 3 }), {
      log: silentLogger,
      writeHistory: false,
      trainerFor: (_, t) => unweighted(t),
    });
    const plain6 = await simulate(testConfig({ ...base, clients: 6 }), { log: silentLogger, writeHistory: false, trainerFor: (_, t) => unweighted(t) });
    expect(maxDiff(plain6.weights, plus.weights)).toBeLessThanOrEqual(1 / (2 * fixedPoint({ clip: CLIP, maxClients: 6 }).scale) + 1e-6);
  }, 120_000);

  it('with secaggMaxExamples W the mean is example-weighted: it equals plain (weighted) FedAvg on unequal shards within e·(1 + C)/Ŵ', async () => {
    const base = { clients: 4, rounds: 1, evaluate: 'none' as const, partition: 'quantity:1', secaggClip: 10 };
    const plain = await simulate(testConfig(base), { log: silentLogger, writeHistory: false });
    const weighted = await simulate(testConfig({ ...base, secagg: true, secaggMaxExamples: 100_000 }), { log: silentLogger, writeHistory: false });
    const flat = await simulate(testConfig({ ...base, secagg: true }), { log: silentLogger, writeHistory: false });
    const bound = weighted.history.rounds[0]!.secaggErrorBound!;
    expect(bound).toBeGreaterThan(0);
    expect(bound).toBeLessThan(1e-4);
    expect(maxDiff(plain.weights, weighted.weights)).toBeLessThanOrEqual(bound + 1e-6);
    // the shards differ in size, so the unweighted mean is a different model
    expect(maxDiff(plain.weights, flat.weights)).toBeGreaterThan(100 * (bound + 1e-6));
  }, 120_000);

  it("up to n − t dropouts (one after sharing keys, one after its masked input) still give the survivors' mean", async () => {
    const base = { clients: 5, rounds: 1, evaluate: 'none' as const, secaggClip: CLIP };
    // client 2 leaves before its masked input: it is not in the sum; client 4 leaves before unmasking: it is
    const log = memoryLogger();
    const secure = await simulate(testConfig({ ...base, secagg: true, secaggThreshold: 3 }), {
      log,
      writeHistory: false,
      trainerFor: (_, t) => unweighted(t),
      dropAt: (i, _round, phase) => (i === 1 && phase === 'maskedInput') || (i === 3 && phase === 'unmask'),
    });
    const plain = await simulate(testConfig(base), { log: silentLogger, writeHistory: false, trainerFor: (i, t) => (i === 1 ? failing(t) : unweighted(t)) });
    expect(secure.history.rounds[0]).toMatchObject({ clients: 4, failures: 1 });
    expect(plain.history.rounds[0]).toMatchObject({ clients: 4, failures: 1 });
    expect(maxDiff(plain.weights, secure.weights)).toBeLessThanOrEqual(1 / (2 * fixedPoint({ clip: CLIP, maxClients: 5 }).scale) + 1e-6);
    expect(log.entries.some((e) => /left while unmasking; its input stays in the sum/.test(e.msg ?? ''))).toBe(true);
  }, 120_000);

  it('a client that misses the maskedInput deadline (silent, still connected) is a dropout; the round completes without it', async () => {
    const base = { clients: 4, rounds: 1, evaluate: 'none' as const, secaggClip: CLIP, roundTimeoutMs: 3_000 };
    const silent = (t: Trainer): Trainer => ({ ...unweighted(t), fit: () => new Promise(() => {}) });
    const log = memoryLogger();
    const secure = await simulate(testConfig({ ...base, secagg: true }), {
      log,
      writeHistory: false,
      trainerFor: (i, t) => (i === 2 ? silent(t) : unweighted(t)),
    });
    expect(
      log.entries.some((e) =>
        /secure aggregation, maskedInput phase: client client-3 .*missed the secure aggregation maskedInput phase of round 1 deadline/.test(e.msg ?? ''),
      ),
    ).toBe(true);
    const plain = await simulate(testConfig(base), { log: silentLogger, writeHistory: false, trainerFor: (i, t) => (i === 2 ? failing(t) : unweighted(t)) });
    expect(secure.history.rounds[0]).toMatchObject({ clients: 3, failures: 1 });
    expect(maxDiff(plain.weights, secure.weights)).toBeLessThanOrEqual(1 / (2 * fixedPoint({ clip: CLIP, maxClients: 4 }).scale) + 1e-6);
  }, 120_000);

  it('more than n − t dropouts abort that round (model unchanged, round skipped) and the next round proceeds', async () => {
    const log = memoryLogger();
    // n = 5, t = ⌈10/3⌉ = 4: two clients leaving after sharing keys is one too many
    const r = await simulate(testConfig({ clients: 5, rounds: 2, secagg: true }), {
      log,
      writeHistory: false,
      dropAt: (i, round, phase) => round === 1 && phase === 'maskedInput' && (i === 0 || i === 2),
    });
    expect(r.history.rounds[0]).toMatchObject({ round: 1, skipped: true, clients: 0, failures: 2 });
    expect(r.history.rounds[1]).toMatchObject({ round: 2, clients: 3 });
    expect(r.history.rounds[1]!.skipped).toBeUndefined();
    const aborted = log.entries.find((e) => /secure aggregation aborted in round 1: only 3 clients sent masked inputs, 4 needed/.test(e.msg ?? ''));
    expect(aborted?.level).toBe('error');
    expect(aborted?.msg).toMatch(/round 1 skipped, model unchanged/);
    // round 1 left the model as it was: its loss is the initial model's, round 2's is lower
    expect(r.history.rounds[1]!.loss!).toBeLessThan(r.history.rounds[0]!.loss!);
  }, 120_000);

  it('is refused with strategies that need each update, and with differential privacy', async () => {
    // the config refuses them before anything starts, naming the field
    for (const strategy of ['fedmedian', 'trimmedmean:beta=0.2', 'krum:f=1', 'multikrum:f=1']) {
      expect(() => testConfig({ clients: 5, rounds: 1, secagg: true, strategy })).toThrow(/secagg: .* needs every individual update/);
    }
    expect(() => testConfig({ secagg: true, dp: 'central:z=1.0,clip=1.0' })).toThrow(ConfigError);
    expect(() => testConfig({ secaggThreshold: 3 })).toThrow(/secaggThreshold: needs secagg: true/);
    expect(() => testConfig({ clients: 4, secagg: true, secaggThreshold: 5 })).toThrow(/5 is more than clients/);
    expect(() => testConfig({ clients: 100_000, secagg: true, secaggClip: 1e6 })).toThrow(/secaggClip: no scale ≥ 1 fits/);
    expect(() => testConfig({ secagg: true, secaggNeighbours: 3 })).toThrow(/secaggNeighbours/);
    // t defaults to ⌈2n/3⌉, or ⌈2(k+1)/3⌉ of a SecAgg+ neighbourhood
    expect([defaultThreshold(3), defaultThreshold(5), defaultThreshold(10), defaultThreshold(100, 8), defaultThreshold(5, 8), defaultThreshold(2)]).toEqual([
      2, 4, 7, 6, 4, 2,
    ]);
  }, 60_000);
});
