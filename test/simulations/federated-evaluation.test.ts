import { withFields } from '../../shared/config.ts';
import { describe, expect, it } from 'vitest';
import { NO_LOCAL_EVALUATION, type Trainer } from '../../client/trainer.ts';
import type { FederatedRecord } from '../../coordinator/federated-evaluation.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { EVALUATION_METRICS } from '../../shared/metrics/report.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig } from '../e2e/helpers.ts';

const config = testConfig({ clients: 3, rounds: 2, localValidation: 0.2, seed: 11 });

/** Σ n_k m_k / Σ n_k over the per-client results, computed here independently. */
function weightedMean(f: FederatedRecord, key: string): number {
  const n = f.perClient.reduce((s, c) => s + c.numExamples, 0);
  return f.perClient.reduce((s, c) => s + c.numExamples * c.metrics[key]!, 0) / n;
}

describe('federated evaluation in a simulation', () => {
  it('every client scores each new model on its held-out rows; the aggregate is the example-weighted mean; runs stay reproducible', async () => {
    const trained = new Map<number, number>();
    const counting = (i: number, t: Trainer): Trainer => ({
      evaluate: (spec, w) => t.evaluate(spec, w),
      async fit(spec, w, cfg, seed) {
        const r = await t.fit(spec, w, cfg, seed);
        trained.set(i, r.numExamples);
        return r;
      },
    });
    const a = await simulate(config, { log: silentLogger, writeHistory: false, workers: 2, trainerFor: counting });
    for (const round of a.history.rounds) {
      const f = round.federated!;
      expect(f.clients).toBe(3);
      expect(f.failures).toBe(0);
      expect(f.perClient.map((c) => c.client)).toEqual(['client-1', 'client-2', 'client-3']);
      for (const c of f.perClient) {
        expect(Object.keys(c.metrics).sort()).toEqual([...EVALUATION_METRICS].sort());
        expect(c.metrics.accuracy!).toBeGreaterThan(0.5);
      }
      expect(f.numExamples).toBe(f.perClient.reduce((s, c) => s + c.numExamples, 0));
      for (const key of EVALUATION_METRICS) expect(f.metrics[key]!, key).toBeCloseTo(weightedMean(f, key), 12);
      // the clients' scores differ, so a plain mean would not do
      expect(new Set(f.perClient.map((c) => c.metrics.accuracy)).size).toBeGreaterThan(1);
    }
    // each client trains on its shard less the ≈ 20 % it holds out; together the rows are the 8,000 training digits
    const held = a.history.rounds[0]!.federated!.perClient.map((c) => c.numExamples);
    for (const [i, n] of held.entries()) {
      expect(n / (n + trained.get(i)!)).toBeCloseTo(0.2, 2);
    }
    expect(held.reduce((s, n, i) => s + n + trained.get(i)!, 0)).toBe(8000);
    const b = await simulate(withFields(config, { transport: 'memory' }), { log: silentLogger, writeHistory: false, workers: 1 });
    expect(b.history.finalWeightsSha256).toBe(a.history.finalWeightsSha256);
    expect(b.history.rounds.map((r) => r.federated)).toEqual(a.history.rounds.map((r) => r.federated));
    const off = await simulate(withFields(config, { localValidation: undefined }), { log: silentLogger, writeHistory: false });
    expect(off.history.rounds.every((r) => r.federated === null)).toBe(true);
    expect(off.history.finalWeightsSha256).not.toBe(a.history.finalWeightsSha256);
  });

  it('a client without held-out rows or whose evaluation fails is logged and counted; the rounds go on', async () => {
    const log = memoryLogger();
    const noRows = (t: Trainer): Trainer => ({ fit: (...args) => t.fit(...args), evaluate: async () => NO_LOCAL_EVALUATION });
    const broken = (t: Trainer): Trainer => ({
      fit: (...args) => t.fit(...args),
      evaluate: () => Promise.reject(new Error('the disk with the held-out rows is gone')),
    });
    const r = await simulate(config, { log, writeHistory: false, trainerFor: (i, t) => (i === 0 ? noRows(t) : i === 1 ? broken(t) : t) });
    expect(r.history.rounds).toHaveLength(2);
    expect(r.history.rounds[0]!.federated).toMatchObject({ clients: 1, failures: 2 });
    expect(r.history.rounds[0]!.federated!.perClient.map((c) => c.client)).toEqual(['client-3']);
    expect(r.history.rounds[0]!.federated!.metrics.accuracy).toBe(r.history.rounds[0]!.federated!.perClient[0]!.metrics.accuracy);
    // the broken client gave up after its failure; the round after trains and evaluates without it
    expect(r.history.rounds[1]).toMatchObject({ clients: 2, federated: { clients: 1, failures: 1 } });
    const text = log.entries.map((e) => e.msg ?? '').join('\n');
    expect(text).toMatch(/round 1 evaluation: client client-1 holds no local evaluation rows/);
    expect(text).toMatch(/the disk with the held-out rows is gone/);
  });

  it('fractionEvaluate asks a seeded sample of the clients', async () => {
    const r = await simulate(withFields(config, { clients: 4, fractionEvaluate: 0.5 }), { log: silentLogger, writeHistory: false });
    expect(r.history.rounds.map((x) => x.federated!.clients)).toEqual([2, 2]);
    expect(r.history.rounds.every((x) => x.clients === 4)).toBe(true);
  });

  it('with frozen layers, a client asked to evaluate before it ever trained still places the trainable-only model it is sent', async () => {
    // C = 0.25 of 4 clients train each round, all 4 evaluate: some evaluate twice before their first fit
    const r = await simulate(withFields(config, { clients: 4, rounds: 3, fractionFit: 0.25, freeze: ['dense0'] }), { log: silentLogger, writeHistory: false });
    expect(r.agents.every((a) => a.status === 'fulfilled')).toBe(true);
    expect(r.history.rounds.map((x) => [x.clients, x.federated!.clients, x.federated!.failures])).toEqual([
      [1, 4, 0],
      [1, 4, 0],
      [1, 4, 0],
    ]);
  });
});
