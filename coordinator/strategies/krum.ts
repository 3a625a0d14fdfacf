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

/** Refuses a configuration in which Krum cannot work: every round must have n > 2f + 2. */
export function checkKrumConfig(name: string, f: number, ctx: StrategyContext): void {
  const perRound = Math.min(ctx.clients, Math.max(ctx.sampling.min, Math.ceil(ctx.sampling.fraction * ctx.clients)));
  if (perRound <= 2 * f + 2) {
    throw new ConfigError(`strategy ${name} with f = ${f} needs more than 2f + 2 = ${2 * f + 2} clients per round; this run asks ${perRound}`);
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

export function multiKrumStep(f: number, m: number) {
  return (global: Float32Array, results: readonly FitOutcome[]) => {
    const chosen = krumSelect(results.map((r) => r.delta), f, Math.min(m, results.length));
    return add(global, meanDelta(chosen.map((i) => results[i]!)));
  };
}
