import { z } from 'zod';
import { ConfigError } from '../../shared/errors.ts';
import { add } from '../../shared/weights.ts';
import { meanDelta, strategy } from './common.ts';
import { krumSelect } from './robust.ts';
import type { FitOutcome, Strategy, StrategyContext } from './strategy.ts';

/**
 * Krum (Blanchard et al. 2017): tolerates f Byzantine clients among n > 2f + 2 by
 * taking the delta closest (sum of squared distances to its n − f − 2 nearest) to
 * the others. Multi-Krum (multikrum.ts) averages the m best instead of taking one.
 */
export const krumParams = z.strictObject({ f: z.number().int().min(0).default(1) });

/**
 * Refuses a configuration in which Krum cannot work: a full round must have n > 2f + 2
 * (a round that falls short through dropouts is skipped instead), and Multi-Krum's
 * explicit m must be at most n − f, since averaging more than the n − f honest updates
 * a round can hold would take a Byzantine one in.
 */
export function checkKrumConfig(name: string, f: number, ctx: StrategyContext, m?: number): void {
  const perRound = Math.min(ctx.clients, Math.max(ctx.sampling.min, Math.ceil(ctx.sampling.fraction * ctx.clients)));
  if (perRound <= 2 * f + 2) {
    throw new ConfigError(`strategy ${name} with f = ${f} needs more than 2f + 2 = ${2 * f + 2} clients per round; this run asks ${perRound}`);
  }
  if (m !== undefined && m > perRound - f) {
    throw new ConfigError(`strategy ${name} with f = ${f}: m = ${m} is more than n − f = ${perRound - f} of the ${perRound} clients a round asks (it would average a Byzantine update in)`);
  }
}

export function krum(params: z.infer<typeof krumParams>, ctx: StrategyContext): Strategy {
  checkKrumConfig('krum', params.f, ctx);
  return strategy({
    name: 'krum',
    params,
    ctx,
    needsAllUpdates: true,
    step: (global, results) => add(global, results[krumSelect(results.map((r) => r.delta), params.f, 1)[0]!]!.delta),
  });
}

/**
 * Multi-Krum's step: the example-weighted mean of the m best-scored deltas, where m is
 * n − f of THIS round's n updates (not of the population: with C < 1 or after dropouts
 * that would average every update, the Byzantine ones included). An explicit m above
 * the round's n − f is clamped to it, for the same reason.
 */
export function multiKrumStep(f: number, m: number | undefined) {
  return (global: Float32Array, results: readonly FitOutcome[]) => {
    const k = Math.min(m ?? Infinity, results.length - f);
    // krumSelect refuses n ≤ 2f + 2 (an AggregationError) before k is used, so k ≥ f + 3 here
    const chosen = krumSelect(results.map((r) => r.delta), f, k);
    return add(global, meanDelta(chosen.map((i) => results[i]!)));
  };
}
