import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.ts';
import { parseAttack } from '../../simulations/attacks.ts';
import { simulate } from '../../simulations/simulate.ts';
import { testConfig } from './helpers.ts';

/**
 * The robustness scenario: MNIST MLP, 10 clients, 2 of them sending sign-flipped
 * deltas scaled ×10, 10 rounds. FedAvg collapses; the robust rules stay within 3
 * points of the attack-free run.
 */
describe('Byzantine robustness', () => {
  it('FedAvg collapses under 2 sign-flip ×10 attackers; FedMedian, trimmed mean and Krum stay within 3 points', async () => {
    const attack = { attack: parseAttack('sign-flip:scale=10'), attackers: 2 };
    const final = async (strategy: string, withAttack: boolean) =>
      (
        await simulate(testConfig({ clients: 10, rounds: 10, strategy }), { log: silentLogger, writeHistory: false, attack: withAttack ? attack : undefined })
      ).history.rounds.at(-1)!.accuracy!;
    const clean = await final('fedavg', false);
    expect(clean).toBeGreaterThan(0.85);
    expect(await final('fedavg', true)).toBeLessThan(0.5);
    for (const strategy of ['fedmedian', 'trimmedmean:beta=0.2', 'krum:f=2']) {
      const acc = await final(strategy, true);
      expect(clean - acc, strategy).toBeLessThanOrEqual(0.03);
    }
  });

  it('parses attacks and refuses bad ones', () => {
    expect(parseAttack('gaussian:sigma=2')).toEqual({ name: 'gaussian', params: { sigma: 2 } });
    expect(parseAttack('scale')).toEqual({ name: 'scale', params: { factor: 10 } });
    expect(() => parseAttack('nuke')).toThrow(/unknown attack "nuke" \(available: sign-flip, scale, gaussian\)/);
    expect(() => parseAttack('gaussian:sigma=-1')).toThrow(/attack gaussian: sigma/);
    expect(() => parseAttack('scale:factor')).toThrow(/is not key=number/);
  });
});
