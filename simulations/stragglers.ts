import type { Trainer } from '../client/trainer.ts';
import { deriveSeed, mulberry32 } from '../shared/rng.ts';

/**
 * Systems heterogeneity as in the FedProx paper (Li et al. 2020): each round, each
 * client is a straggler with probability `fraction` and then runs a uniformly random
 * number of local epochs in [1, E − 1] instead of E, reporting the epochs it ran.
 * The draw uses the task's seed, so runs stay reproducible.
 */
export function straggling(honest: Trainer, fraction: number): Trainer {
  if (fraction <= 0) return honest;
  return {
    evaluate: (spec, weights) => honest.evaluate(spec, weights),
    fit(spec, weights, config, seed) {
      const rng = mulberry32(deriveSeed(seed, 0x57a6));
      if (config.epochs < 2 || rng() >= fraction) return honest.fit(spec, weights, config, seed);
      const epochs = 1 + Math.floor(rng() * (config.epochs - 1));
      return honest.fit(spec, weights, { ...config, epochs }, seed);
    },
  };
}
