import { z } from 'zod';
import { strategy } from './common.ts';
import { checkKrumConfig, multiKrumStep } from './krum.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/**
 * Multi-Krum (Blanchard et al. 2017): the example-weighted mean of the m deltas with the
 * best Krum scores. m defaults to n − f of each round's n updates, and an explicit m is
 * clamped to that (krum.ts, multiKrumStep); the recorded parameters carry m only when given.
 */
export const multiKrumParams = z.strictObject({ f: z.number().int().min(0).default(1), m: z.number().int().min(1).optional() });

export function multiKrum(params: z.infer<typeof multiKrumParams>, ctx: StrategyContext): Strategy {
  checkKrumConfig('multikrum', params.f, ctx, params.m);
  return strategy({ name: 'multikrum', params, ctx, needsAllUpdates: true, step: multiKrumStep(params.f, params.m) });
}
