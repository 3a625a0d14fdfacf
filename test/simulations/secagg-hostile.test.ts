import { afterEach, describe, expect, it } from 'vitest';
import { SecAggParticipant } from '../../client/secagg-participant.ts';
import { memoryLogger } from '../../shared/log.ts';
import { simulate } from '../../simulations/simulate.ts';
import { initWeights } from '../../shared/models/registry.ts';
import { testConfig } from '../e2e/helpers.ts';

/**
 * A hostile client inside an otherwise honest secure-aggregation run, made by patching
 * the participant of one round index: what it sends is well-formed on the wire, so
 * only the coordinator's checks of what it means can stop it.
 */
const original = SecAggParticipant.prototype.maskedInput;
afterEach(() => {
  SecAggParticipant.prototype.maskedInput = original;
});

type Args = Parameters<typeof original>;
function hostile(index: number, act: (self: SecAggParticipant, args: Args) => ReturnType<typeof original>): void {
  SecAggParticipant.prototype.maskedInput = function (this: SecAggParticipant, ...args: Args) {
    const me = (this as unknown as { client: { index: number } }).client.index;
    return me === index ? act(this, args) : original.apply(this, args);
  };
}

describe('secure aggregation against a hostile client', () => {
  it('false complaints about several peers drop the complainer, not them: the round completes with the honest clients', async () => {
    hostile(1, async (self, args) => {
      const reply = await original.apply(self, args);
      return { ...reply, complaints: [2, 3].map((about) => ({ about, reason: 'share did not decrypt' })) };
    });
    const log = memoryLogger();
    // n = 4, t = 3: honouring both complaints would leave 1 client and abort the round
    const r = await simulate(testConfig({ clients: 4, rounds: 1, secagg: true, evaluate: 'none' }), { log, writeHistory: false });
    expect(r.history.rounds[0]).toMatchObject({ clients: 3, failures: 1 });
    expect(r.history.rounds[0]!.skipped).toBeUndefined();
    expect(log.entries.some((e) => /complained about 2 peers; at most one complaint a round is honoured/.test(e.msg ?? ''))).toBe(true);
  }, 60_000);

  it('an input outside the clip (every coordinate at the encoding range) is caught in the decoded mean: the round is skipped, the model unchanged', async () => {
    hostile(1, (self, [task, delta, ...rest]) => {
      // skip the clip: every coordinate at +C, a vector of norm C·√m
      (self as unknown as { clip: number }).clip = 1e9;
      return original.call(self, task, new Float32Array(delta.length).fill(10), ...rest);
    });
    const log = memoryLogger();
    const r = await simulate(testConfig({ clients: 4, rounds: 1, secagg: true, secaggClip: 10 }), { log, writeHistory: false });
    expect(r.history.rounds[0]).toMatchObject({ skipped: true, clients: 0 });
    expect(log.entries.some((e) => /the decoded mean has norm [\d.e+]+, more than the clip 10 allows/.test(e.msg ?? ''))).toBe(true);
  }, 60_000);

  it('the check is on the mean, not each input: a norm-90 input (C = 10, each coordinate in [−C, C]) from one client of 10 moves the mean by 9 undetected', async () => {
    const m = 81;
    SecAggParticipant.prototype.maskedInput = function (this: SecAggParticipant, task, delta, ...rest) {
      // the others send zero updates, so the mean is the hostile input over n
      const input = new Float32Array(delta.length);
      if ((this as unknown as { client: { index: number } }).client.index === 1) {
        // skip the clip: 81 coordinates at +C, a vector of norm √81 · 10 = 90 that the encoder's clamp lets through
        (this as unknown as { clip: number }).clip = 1e9;
        input.fill(10, 0, m);
      }
      return original.call(this, task, input, ...rest);
    };
    const config = testConfig({ clients: 10, rounds: 1, secagg: true, secaggClip: 10, evaluate: 'none' });
    const r = await simulate(config, { log: memoryLogger(), writeHistory: false });
    expect(r.history.rounds[0]!.skipped).toBeUndefined();
    const initial = initWeights(config.model, config.seed);
    const moved = r.weights.map((w, i) => w - initial[i]!);
    let norm = 0;
    for (const v of moved) norm += v * v;
    // √m·C/n = 90/10, far beyond the 2C/n = 2 the README once claimed
    expect(Math.sqrt(norm)).toBeCloseTo(9, 4);
  }, 60_000);
});
