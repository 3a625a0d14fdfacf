import { withFields } from '../../shared/config.ts';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.ts';
import { RdpAccountant } from '../../shared/privacy/index.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig } from '../e2e/helpers.ts';

describe('differential privacy in a simulation', () => {
  it('central DP: every round records (ε, δ) from the accountant, the model still learns, and the same seed gives the same bytes', async () => {
    const config = testConfig({ clients: 10, rounds: 3, fractionFit: 0.5, dp: 'central:z=0.5,clip=1', dpDelta: 1e-5 });
    const a = await simulate(config, { log: silentLogger, writeHistory: false });
    const b = await simulate(withFields(config, { transport: 'memory' }), { log: silentLogger, writeHistory: false });
    const plain = await simulate(withFields(config, { dp: undefined }), { log: silentLogger, writeHistory: false });
    expect(a.history.finalWeightsSha256).toBe(b.history.finalWeightsSha256);
    expect(a.history.finalWeightsSha256).not.toBe(plain.history.finalWeightsSha256);
    const accountant = new RdpAccountant();
    a.history.rounds.forEach((r) => {
      accountant.step(0.5, 0.5);
      expect(r.epsilon).toBe(accountant.epsilon(1e-5).epsilon);
      expect(r.delta).toBe(1e-5);
    });
    expect(a.history.rounds.at(-1)!.accuracy!).toBeGreaterThan(0.3);
    expect(a.history.strategy).toMatchObject({ name: 'fedavg', dp: 'central:z=0.5,clip=1', dpDelta: 1e-5 });
  });

  it('local DP: clients clip and noise their own deltas (q = 1 accounting); a robust strategy with DP is refused', async () => {
    const config = testConfig({ clients: 3, rounds: 2, dp: 'local:z=0.05,clip=5' });
    const a = await simulate(config, { log: silentLogger, writeHistory: false });
    const plain = await simulate(withFields(config, { dp: undefined }), { log: silentLogger, writeHistory: false });
    expect(a.history.finalWeightsSha256).not.toBe(plain.history.finalWeightsSha256);
    expect(a.history.finalWeightsSha256).toBe((await simulate(config, { log: silentLogger, writeHistory: false })).history.finalWeightsSha256);
    const accountant = new RdpAccountant();
    accountant.step(1, 0.05);
    accountant.step(1, 0.05);
    expect(a.history.rounds[1]!.epsilon).toBe(accountant.epsilon(1e-5).epsilon);
    // refused by the run config or, given a config built otherwise, by the coordinator
    await expect(
      (async () =>
        simulate(testConfig({ clients: 3, rounds: 1, strategy: 'fedmedian', dp: 'central:z=1,clip=1' }), { log: silentLogger, writeHistory: false }))(),
    ).rejects.toThrow(/fedmedian needs every individual update/);
  });

  it('a bad --dp value is a config error naming the field and the key', () => {
    expect(() => testConfig({ dp: 'central:z=-1,clip=1' })).toThrow(/dp: .*z/);
    expect(() => testConfig({ dp: 'global:z=1,clip=1' })).toThrow(/dp: .*central or local/);
    expect(() => testConfig({ dp: 'local:z=1,clip=1,adaptive=0.5' })).toThrow(/dp: /);
    expect(() => testConfig({ dp: 'central:z=1,clip=1', dpDelta: 2 })).toThrow(/dpDelta/);
  });
});
