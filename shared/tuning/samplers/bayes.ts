import { deriveSeed, mulberry32, normal, type Rng } from '../../rng.ts';
import { expectedImprovement } from '../acquisition.ts';
import { decode, encode, encodingOffsets, sampleAssignment } from '../encoding.ts';
import { spaceSize } from '../enumerate.ts';
import { type GPModel, fitGP, fitHyperparameters } from '../gp.ts';
import { type Assignment, type SearchSpace, assignmentKey } from '../space.ts';
import { proposeRandom } from './random.ts';
import { type Observation, type Sampler, seenKeys } from './sampler.ts';

/**
 * Bayesian optimisation: a Gaussian process (Matérn 5/2, ARD, maximum-likelihood
 * hyperparameters) on the unit-cube encoding of the scores seen so far,
 * standardised, and the next assignment the one of highest expected improvement
 * among seeded random candidates and perturbations of the best points.
 *
 * - The first nInit proposals are the random sampler's (same seed, same draws).
 * - Pending trials get a constant lie, the worst score seen, so parallel
 *   proposals are pushed apart (the "constant liar").
 * - Failed trials (a non-finite score) count as the worst score seen.
 * - Every proposal depends only on (seed, history, pending): a resumed run
 *   proposes what the uninterrupted one would have.
 */
export interface BayesOptions {
  readonly seed: number;
  /** Random proposals before the model is used (default 5, fewer for a space of under 10 assignments). */
  readonly nInit?: number;
  /** Prior draws scored per proposal (default 2000). */
  readonly candidates?: number;
  /** Exploration margin of expected improvement, in standard deviations of the scores (default 0: plain EI, whose variance term already explores). */
  readonly xi?: number;
}

const LOCAL_PARENTS = 5;
const LOCAL_PER_PARENT = 100;
const REFINE_PARENTS = 3;
const REFINE_PER_PARENT = 50;

interface Candidate {
  readonly assignment: Assignment;
  readonly x: number[];
  ei: number;
}

/** A neighbour of point x: Gaussian steps on numeric coordinates, and now and then another value for a choice. */
function perturb(space: SearchSpace, x: readonly number[], step: number, rng: Rng, flip: number): Assignment {
  const { offsets } = encodingOffsets(space);
  const y = x.slice();
  space.params.forEach((p, i) => {
    const at = offsets[i]!;
    if (p.type !== 'choice') y[at] = Math.min(1, Math.max(0, y[at]! + step * normal(rng)));
    else if (rng() < flip) {
      const pick = Math.floor(rng() * p.values.length);
      for (let j = 0; j < p.values.length; j++) y[at + j] = j === pick ? 1 : 0;
    }
  });
  return decode(space, y);
}

export function bayesSampler(space: SearchSpace, opts: BayesOptions): Sampler {
  const size = spaceSize(space);
  const nInit = Math.max(1, opts.nInit ?? (size < 10 ? Math.floor(size / 2) : 5));
  const nCandidates = opts.candidates ?? 2000;
  const xi = opts.xi ?? 0;
  const choiceCount = space.params.filter((p) => p.type === 'choice').length;
  const flip = choiceCount ? 1 / (choiceCount + 1) : 0;

  return {
    next(history, pending) {
      const index = history.length + pending.length;
      const seen = seenKeys(history, pending);
      const scored = history.filter((o) => Number.isFinite(o.score));
      if (index < nInit || scored.length < 2) return proposeRandom(space, opts.seed, index, seen, size);

      const { model, best, observed } = condition(space, history, pending);
      const rng = mulberry32(deriveSeed(opts.seed, index, 1));
      const pool = new Map<string, Candidate>();
      const consider = (a: Assignment) => {
        const key = assignmentKey(a);
        if (seen.has(key) || pool.has(key)) return;
        const x = encode(space, a);
        const { mean, variance } = model.predict(x);
        pool.set(key, { assignment: a, x, ei: expectedImprovement(mean, variance, best, xi) });
      };
      for (let i = 0; i < nCandidates; i++) consider(sampleAssignment(space, rng));
      const parents = observed.slice(0, LOCAL_PARENTS);
      for (const parent of parents) {
        for (let i = 0; i < LOCAL_PER_PARENT; i++) consider(perturb(space, parent, i % 2 ? 0.1 : 0.02, rng, flip));
      }
      const leaders = [...pool.values()].sort((a, b) => b.ei - a.ei).slice(0, REFINE_PARENTS);
      for (const leader of leaders) {
        for (let i = 0; i < REFINE_PER_PARENT; i++) consider(perturb(space, leader.x, i % 2 ? 0.01 : 0.003, rng, 0));
      }
      let pick: Candidate | undefined;
      for (const c of pool.values()) if (!pick || c.ei > pick.ei) pick = c;
      return pick ? pick.assignment : proposeRandom(space, opts.seed, index, seen, size);
    },
  };
}

/**
 * The process conditioned on the history (scores standardised, failures at the
 * worst score) and on pending trials at the worst score; `observed` lists the
 * tried points best first, and `best` is the best standardised score.
 */
function condition(
  space: SearchSpace,
  history: readonly Observation[],
  pending: readonly Assignment[],
): { model: GPModel; best: number; observed: number[][] } {
  const finite = history.map((o) => o.score).filter(Number.isFinite);
  const worst = Math.min(...finite);
  const raw = history.map((o) => (Number.isFinite(o.score) ? o.score : worst));
  const mean = raw.reduce((s, v) => s + v, 0) / raw.length;
  const sd = Math.sqrt(raw.reduce((s, v) => s + (v - mean) ** 2, 0) / raw.length) || 1;
  const y = raw.map((v) => (v - mean) / sd);
  const X = history.map((o) => encode(space, o.assignment));
  const hyper = fitHyperparameters(X, y);
  const lie = Math.min(...y);
  const model = fitGP([...X, ...pending.map((a) => encode(space, a))], [...y, ...pending.map(() => lie)], hyper);
  const order = y.map((_, i) => i).sort((a, b) => y[b]! - y[a]!);
  return { model, best: Math.max(...y), observed: order.map((i) => X[i]!) };
}
