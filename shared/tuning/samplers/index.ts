import type { SearchSpace } from '../space.ts';
import { bayesSampler } from './bayes.ts';
import { DEFAULT_GRID_POINTS, gridSampler } from './grid.ts';
import { randomSampler } from './random.ts';
import type { Sampler } from './sampler.ts';

export type { Observation, Sampler } from './sampler.ts';
export { bayesSampler, type BayesOptions } from './bayes.ts';
export { DEFAULT_GRID_POINTS, gridSampler, gridSize } from './grid.ts';
export { proposeRandom, randomSampler } from './random.ts';

export type TuningMethod = 'grid' | 'random' | 'bayes';

export interface SamplerOptions {
  readonly seed: number;
  /** grid: values per continuous param (default 3). */
  readonly gridPoints?: number;
  /** bayes: random proposals before the model is used (default 5, fewer for a tiny space). */
  readonly nInit?: number;
  /** bayes: prior draws scored per proposal (default 2000). */
  readonly candidates?: number;
}

/** The sampler for a method; only grid ignores the seed. */
export function createSampler(method: TuningMethod, space: SearchSpace, opts: SamplerOptions): Sampler {
  switch (method) {
    case 'grid':
      return gridSampler(space, opts.gridPoints ?? DEFAULT_GRID_POINTS);
    case 'random':
      return randomSampler(space, opts.seed);
    case 'bayes':
      return bayesSampler(space, {
        seed: opts.seed,
        ...(opts.nInit !== undefined && { nInit: opts.nInit }),
        ...(opts.candidates !== undefined && { candidates: opts.candidates }),
      });
  }
}
