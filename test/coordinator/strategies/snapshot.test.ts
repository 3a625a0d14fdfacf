import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../../coordinator/store/checkpoint-file.ts';
import type { FitOutcome, Strategy, StrategyContext } from '../../../coordinator/strategies/strategy.ts';
import type { PrivacyLedger } from '../../../coordinator/strategies/combine/privacy-ledger.ts';
import { CheckpointError } from '../../../shared/errors.ts';
import { fitConfig } from '../../../shared/protocol/fit-config.ts';
import { RdpAccountant, seededNoiseSource } from '../../../shared/privacy/index.ts';
import { aggregateFit, strategyOf, withDp } from './round.ts';

const train = fitConfig({ epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1 });
const ctx: StrategyContext = { clients: 6, sampling: { fraction: 0.5, min: 2, seed: 11 } };
const everyone = Array.from({ length: 6 }, (_, i) => ({ id: `c${i}`, name: `site-${i}` }));
const update = (name: string, round: number, i: number): FitOutcome => ({
  client: { id: name, name },
  numExamples: 10 + i,
  delta: Float32Array.from({ length: 5 }, (_, k) => Math.sin(round * 7 + i * 3 + k) * (1 + i)),
  metrics: {},
});

/** Runs rounds `from..to` of `strategy` from `global`: each round samples, combines and steps as the round loop does. */
function play(strategy: Strategy, global: Float32Array, from: number, to: number): Float32Array {
  let w = global;
  for (let round = from; round <= to; round++) {
    const asked = strategy.configureFit(round, everyone, train);
    w = aggregateFit(
      strategy,
      w,
      asked.map((a, i) => update(a.client.name, round, i)),
      { round, minResults: 1 },
    );
  }
  return w;
}

/** The strategy's state through a checkpoint file's bytes, as a resumed run reads it. */
function throughFile(strategy: Strategy, weights: Float32Array) {
  return decodeCheckpoint(encodeCheckpoint({ runId: 'r', round: 3, weights, strategy: strategy.snapshot() }), 'mem').strategy;
}

describe('a strategy restored from its snapshot', () => {
  const cases: [string, () => { strategy: Strategy; privacy?: PrivacyLedger }][] = [
    ['fedavg', () => ({ strategy: strategyOf('fedavg', ctx) })],
    ['fedavgm', () => ({ strategy: strategyOf('fedavgm:lr=1,momentum=0.9', ctx) })],
    ['fedyogi', () => ({ strategy: strategyOf('fedyogi:lr=0.05', ctx) })],
    [
      'fedadam with central DP and adaptive clipping (seeded noise)',
      () =>
        withDp('fedadam:lr=0.05', ctx, 'central:z=1.2,clip=0.5,adaptive=0.5,bitNoise=5', {
          delta: 1e-5,
          source: seededNoiseSource(3, 'snap'),
          samplingSecret: false,
        }),
    ],
    ['fedavg with local DP', () => withDp('fedavg', ctx, 'local:z=0.5,clip=1', { delta: 1e-5, samplingSecret: false })],
  ];
  it.each(cases)('%s: the rounds after it give the same model bytes and the same privacy report as a run never interrupted', (name, make) => {
    const start = Float32Array.of(0.1, -0.2, 0.3, 0, 1);
    const whole = make();
    const mid = play(whole.strategy, start, 1, 3);
    const state = throughFile(whole.strategy, mid);
    const end = play(whole.strategy, mid, 4, 7);

    const resumed = make();
    resumed.strategy.restore(state);
    expect(Buffer.from(play(resumed.strategy, mid, 4, 7).buffer)).toEqual(Buffer.from(end.buffer));
    expect(resumed.privacy?.report()).toEqual(whole.privacy?.report());
    expect(resumed.privacy?.byClient()).toEqual(whole.privacy?.byClient());
    // and the state mattered: without it (all but plain fedavg) the rounds after differ
    if (name !== 'fedavg') {
      const fresh = make();
      const same = Buffer.from(play(fresh.strategy, mid, 4, 7).buffer).equals(Buffer.from(end.buffer));
      expect(same && JSON.stringify(fresh.privacy?.report()) === JSON.stringify(whole.privacy?.report())).toBe(false);
    }
  });

  it('rounds a resumed run may have released without its account holding them are charged as full rounds', () => {
    const ctx4: StrategyContext = { clients: 8, sampling: { fraction: 0.5, min: 1, seed: 1 } };
    const fresh = () => withDp('fedavg', ctx4, 'central:z=1,clip=1', { delta: 1e-5, samplingSecret: true });
    const resumed = fresh();
    resumed.chargeUnrecorded!([0.5, 0.5, 0.5]);
    const account = new RdpAccountant();
    account.step(0.5, 1, 3);
    expect(resumed.privacy!.report().epsilon).toBe(account.epsilon(1e-5).epsilon);
    expect(fresh().privacy!.report().epsilon).toBe(0);
  });

  it('a snapshot of another kind of strategy is refused with E_CHECKPOINT, not applied', () => {
    const adam = strategyOf('fedadam', ctx);
    play(adam, Float32Array.of(0, 0, 0, 0, 0), 1, 2);
    const momentum = strategyOf('fedavgm', ctx);
    expect(() => momentum.restore(adam.snapshot())).toThrow(CheckpointError);
    expect(() => momentum.restore(adam.snapshot())).toThrow(/fedavgm: the checkpoint's server state holds m, v, expected velocity/);
    const dp = withDp('fedavg', ctx, 'central:z=1,clip=1', { delta: 1e-5, samplingSecret: true });
    expect(() => dp.strategy.restore({ step: {} })).toThrow(/no differential-privacy state/);
    expect(() => strategyOf('fedavg', ctx).restore(dp.strategy.snapshot())).toThrow(/has no DP/);
    expect(() => strategyOf('fedadam', ctx).restore({ step: { m: new Float64Array(5), v: new Float64Array(4) } })).toThrow(/v has 4 values, expected 5/);
  });
});
