import { describe, expect, it } from 'vitest';
import type { RoundLoopOptions } from '../../coordinator/round-loop.ts';
import type { Transport } from '../../coordinator/transport.ts';
import { fakeTransport, scriptedLoop, type Answer } from './fake-transport.ts';

/**
 * The round loop driven by scripted client handles (no sockets, no training): quorum,
 * deadline, skipped and aborted rounds, early stopping. Deltas are one value long; the
 * model is whatever the test's initial weights are.
 */
const update = (v: number): Answer => ({ numExamples: 1, delta: [v] });

/** A one-round FedAvg loop over a one-value model starting at 0. */
const loop = (transport: Transport, over: Partial<RoundLoopOptions> = {}) => scriptedLoop(transport, 'fedavg', [0], { rounds: 1, ...over });

describe('the round loop with scripted clients', () => {
  it('quorum: a round with minFitClients results aggregates them; one with fewer is skipped with the reason, its failures recorded', async () => {
    const met = await loop(fakeTransport({ a: () => update(1), b: () => update(3), c: () => new Error('training failed') }), { minFitClients: 2 }).run;
    expect(met.history[0]).toMatchObject({ clients: 2, failures: 1 });
    expect(met.history[0]!.skipped).toBeUndefined();
    expect(Array.from(met.weights)).toEqual([2]);

    const { run, log } = loop(fakeTransport({ a: () => update(1), b: () => new Error('gone'), c: () => new Error('gone') }), { minFitClients: 2 });
    const short = await run;
    expect(short.history[0]).toMatchObject({ clients: 1, failures: 2, skipped: true, skipReason: 'only 1 result, 2 needed' });
    expect(Array.from(short.weights)).toEqual([0]);
    expect(log.entries.filter((e) => /round 1: gone/.test(e.msg ?? ''))).toHaveLength(2);
  });

  it('deadline: a silent client is dropped when roundTimeoutMs passes; the round completes with the others', async () => {
    const { run, log } = loop(fakeTransport({ a: () => update(4), slow: () => 'silent' }), { roundTimeoutMs: 150 });
    const r = await run;
    expect(r.history[0]).toMatchObject({ clients: 1, failures: 1 });
    expect(r.history[0]!.timings.collect).toBeGreaterThanOrEqual(0.14);
    expect(Array.from(r.weights)).toEqual([4]);
    expect(log.entries.some((e) => /client slow missed the round 1 deadline/.test(e.msg ?? ''))).toBe(true);
  });

  it('abort: a secure round that cannot run (one client, the threshold needs two) is a typed abort — skipped with its reason, the run goes on', async () => {
    const r = await loop(fakeTransport({ a: () => update(1) }), { rounds: 2, secagg: { runId: 'r', clip: 10 } }).run;
    expect(r.history.map((h) => [h.skipped, h.skipReason])).toEqual([
      [true, 'secure aggregation aborted in round 1: 1 client was chosen, the threshold needs t = 2 (and at least 2)'],
      [true, 'secure aggregation aborted in round 2: 1 client was chosen, the threshold needs t = 2 (and at least 2)'],
    ]);
  });

  it("patience: stops after k rounds without a better accuracy and keeps the best round's model", async () => {
    const accuracy = [0.5, 0.7, 0.6, 0.65, 0.9];
    let round = 0;
    const evaluate = async () => ({ accuracy: accuracy[round++]!, loss: 1, numExamples: 1 });
    const r = await loop(fakeTransport({ a: (n) => update(n) }), { rounds: 5, patience: 2, evaluate }).run;
    expect(r.history).toHaveLength(4);
    expect(r.bestRound).toBe(2);
    // the model after round 2: 0 + 1 + 2
    expect(Array.from(r.weights)).toEqual([3]);
  });

  it("overlap: a round's evaluation runs after the next round's tasks went out; the model, accuracies and traffic are those of evaluating first", async () => {
    const events: string[] = [];
    const run = async (overlapEvaluation: boolean) => {
      events.length = 0;
      const evaluate = async (w: Float32Array) => {
        events.push(`evaluate ${w[0]}`);
        return { accuracy: w[0]! / 100, loss: 1, numExamples: 1 };
      };
      const transport = fakeTransport({
        a: (n) => {
          events.push(`fit ${n}`);
          return update(n);
        },
      });
      return loop(transport, { rounds: 3, evaluate, overlapEvaluation }).run;
    };
    const overlapped = await run(true);
    expect(events).toEqual(['fit 1', 'fit 2', 'evaluate 1', 'fit 3', 'evaluate 3', 'evaluate 6']);
    const sequential = await run(false);
    expect(events).toEqual(['fit 1', 'evaluate 1', 'fit 2', 'evaluate 3', 'fit 3', 'evaluate 6']);
    expect(Array.from(overlapped.weights)).toEqual(Array.from(sequential.weights));
    const same = (h: typeof overlapped.history) =>
      h.map(({ round, accuracy, bytesIn, bytesOut, clients }) => ({ round, accuracy, bytesIn, bytesOut, clients }));
    expect(same(overlapped.history)).toEqual(same(sequential.history));
    expect(overlapped.history.every((h) => h.interval !== undefined && h.interval >= 0)).toBe(true);
  });

  it('a round held for evaluation is still recorded when starting the next round fails', async () => {
    const recorded: number[] = [];
    const learningRate = (round: number) => {
      if (round === 2) throw new Error('no schedule for round 2');
      return 0.1;
    };
    const evaluate = async () => ({ accuracy: 0.5, loss: 1, numExamples: 1 });
    const run = loop(fakeTransport({ a: () => update(1) }), { rounds: 3, evaluate, learningRate, onRound: (r) => recorded.push(r.round) }).run;
    await expect(run).rejects.toThrow(/no schedule for round 2/);
    expect(recorded).toEqual([1]);
  });

  it('no overlap where the evaluation decides whether there is a next round (target accuracy, patience)', async () => {
    const events: string[] = [];
    const evaluate = async () => {
      events.push('evaluate');
      return { accuracy: 0.5, loss: 1, numExamples: 1 };
    };
    const transport = fakeTransport({
      a: (n) => {
        events.push(`fit ${n}`);
        return update(n);
      },
    });
    await loop(transport, { rounds: 2, evaluate, targetAccuracy: 0.9 }).run;
    expect(events).toEqual(['fit 1', 'evaluate', 'fit 2', 'evaluate']);
  });

  it('target accuracy: stops after the first round that reaches it', async () => {
    let round = 0;
    const evaluate = async () => ({ accuracy: [0.4, 0.86, 0.9][round++]!, loss: 1, numExamples: 1 });
    const r = await loop(fakeTransport({ a: () => update(1) }), { rounds: 3, targetAccuracy: 0.85, evaluate }).run;
    expect(r.history.map((h) => h.accuracy)).toEqual([0.4, 0.86]);
  });
});
