import { describe, expect, it } from 'vitest';
import { createAggregation } from '../../../coordinator/strategies/index.ts';
import type { StrategyContext } from '../../../coordinator/strategies/strategy.ts';
import { parseDpSpec } from '../../../shared/privacy/index.ts';
import { parseStrategySpec } from '../../../shared/strategy-spec.ts';

const ctx: StrategyContext = { clients: 10, sampling: { fraction: 1, min: 1, seed: 1 } };
const build = (strategy: string, o: { dp?: string; secagg?: boolean } = {}) =>
  createAggregation(parseStrategySpec(strategy), o.dp === undefined ? undefined : parseDpSpec(o.dp), {
    ctx,
    secagg: o.secagg ?? false,
    delta: 1e-5,
    samplingSecret: true,
  });

describe("a run's aggregation", () => {
  it('without DP: the strategy alone, recorded as its spec, and no privacy ledger', () => {
    const run = build('fedprox:mu=0.5');
    expect(run.privacy).toBeUndefined();
    expect(run.strategy.toConfig()).toEqual({ name: 'fedprox', mu: 0.5 });
    expect(build('fedadam').strategy.toConfig()).toEqual({ name: 'fedadam', lr: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  });

  it('with DP: the record adds dp and dpDelta, and the ledger reports', () => {
    const run = build('fedavgm', { dp: 'local:z=1,clip=2' });
    expect(run.strategy.toConfig()).toEqual({ name: 'fedavgm', lr: 1, momentum: 0.9, dp: 'local:z=1,clip=2', dpDelta: 1e-5 });
    expect(run.privacy?.report()).toMatchObject({ epsilon: 0, delta: 1e-5, clip: 2, samplingRate: 1 });
  });

  it('refuses what cannot work: a robust strategy under secure aggregation or DP, and DP with secure aggregation', () => {
    expect(() => build('krum:f=1', { secagg: true })).toThrow(
      /^secagg: krum needs every individual update \(a robust aggregator\), which secure aggregation hides from the coordinator; use fedavg, /,
    );
    expect(() => build('fedmedian', { dp: 'central:z=1,clip=1' })).toThrow(/^dp: fedmedian needs every individual update/);
    expect(() => build('fedavg', { dp: 'central:z=1,clip=1', secagg: true })).toThrow(/differential privacy together with secure aggregation is not supported/);
    expect(() => build('fedavg', { secagg: true })).not.toThrow();
  });
});
