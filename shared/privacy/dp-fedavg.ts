import { clipToNorm } from './clip.ts';
import type { NoiseSource } from './noise.ts';
import { InvalidArgumentError } from '../errors.ts';

/**
 * DP-FedAvg (McMahan, Ramage, Talwar and Zhang 2018, "Learning Differentially
 * Private Recurrent Language Models"), with every client weighted 1.
 *
 * Central: the coordinator clips each update to S, sums, divides by the
 * EXPECTED number of clients per round qN (not the number that arrived) and
 * adds N(0, σ²) with σ = z·S/(qN). The denominator is fixed because then one
 * client's presence or absence moves the average by at most S/(qN): the
 * sensitivity the noise is calibrated to. Dividing by the realised count n
 * would make every other client's weight depend on whether this client took
 * part, so the sensitivity would no longer be S/n and the RDP accountant's
 * sampled-Gaussian analysis would not apply. The fixed-denominator estimator
 * is unbiased for the mean update: E[Σ_k clip(Δ_k)]/(qN) under Poisson sampling.
 *
 * Local: each client clips its own update and adds N(0, (z·S)²) before sending,
 * so the coordinator never sees an un-noised update; the average of m such
 * updates has noise of standard deviation z·S/√m (vs z·S/m centrally).
 */

export interface CentralDpOptions {
  /** Clip norm S (> 0). */
  readonly clip: number;
  /** Noise multiplier z (≥ 0; 0 only for tests — no privacy). */
  readonly noiseMultiplier: number;
  /** Expected clients per round qN (> 0): the fixed denominator. */
  readonly expectedClients: number;
  readonly source: NoiseSource;
  /** Length of the model vector; needed only when no client reported this round (the noise must still be released). */
  readonly dimension?: number;
}

export interface CentralDpResult {
  /** Σ clip(Δ_k)/(qN) + N(0, σ²·I). */
  readonly update: Float32Array;
  /** The noise standard deviation used: z·S/(qN). */
  readonly sigma: number;
  /** Each client's update norm before clipping, in input order. */
  readonly norms: readonly number[];
  /** How many updates were scaled down. */
  readonly clippedCount: number;
}

function checkPositive(name: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`${name} must be finite and > 0 (got ${v})`);
}

function checkMultiplier(z: number): void {
  if (!(z >= 0) || !Number.isFinite(z)) throw new InvalidArgumentError(`noise multiplier must be finite and ≥ 0 (got ${z})`);
}

/** The central DP-FedAvg aggregate of one round. */
export function dpFedAvg(deltas: readonly Float32Array[], options: CentralDpOptions): CentralDpResult {
  const fold = dpFedAvgFold(options);
  for (const delta of deltas) fold.add(delta);
  return fold.finish();
}

/** The same aggregate built one update at a time, in the order given (a round's results as they are collected). */
export interface CentralDpFold {
  add(delta: Float32Array): void;
  /** Σ clip(Δ_k)/(qN) + N(0, σ²·I) over the updates added; the noise is drawn here, once. */
  finish(): CentralDpResult;
}

export function dpFedAvgFold(options: CentralDpOptions): CentralDpFold {
  checkPositive('clip norm', options.clip);
  checkPositive('expected clients per round', options.expectedClients);
  checkMultiplier(options.noiseMultiplier);
  let sum: Float64Array | undefined;
  const norms: number[] = [];
  let clippedCount = 0;
  return {
    add(delta) {
      if (!sum) {
        if (options.dimension !== undefined && options.dimension !== delta.length)
          throw new InvalidArgumentError(`update length ${delta.length} does not match dimension ${options.dimension}`);
        sum = new Float64Array(delta.length);
      }
      if (delta.length !== sum.length) throw new InvalidArgumentError(`client update ${norms.length} has length ${delta.length}, expected ${sum.length}`);
      const c = clipToNorm(delta, options.clip);
      norms.push(c.norm);
      if (c.scale < 1) clippedCount++;
      for (let i = 0; i < sum.length; i++) sum[i]! += c.clipped[i]!;
    },
    finish() {
      if (!sum) {
        if (options.dimension === undefined)
          throw new InvalidArgumentError('dpFedAvg got no client updates and no dimension: pass `dimension` so an empty round still releases noise');
        sum = new Float64Array(options.dimension);
      }
      const sigma = (options.noiseMultiplier * options.clip) / options.expectedClients;
      const update = new Float32Array(sum.length);
      for (let i = 0; i < sum.length; i++) update[i] = sum[i]! / options.expectedClients + (sigma === 0 ? 0 : sigma * options.source.normal());
      return { update, sigma, norms, clippedCount };
    },
  };
}

export interface LocalDpOptions {
  readonly clip: number;
  readonly noiseMultiplier: number;
  readonly source: NoiseSource;
}

export interface LocalDpResult {
  /** clip(Δ) + N(0, (z·S)²·I). */
  readonly update: Float32Array;
  /** The noise standard deviation used: z·S. */
  readonly sigma: number;
  /** ‖Δ‖ before clipping. */
  readonly norm: number;
}

/** What a client applies to its own update under local DP. */
export function localDp(delta: Float32Array, options: LocalDpOptions): LocalDpResult {
  checkPositive('clip norm', options.clip);
  checkMultiplier(options.noiseMultiplier);
  const c = clipToNorm(delta, options.clip);
  const sigma = options.noiseMultiplier * options.clip;
  const update = c.clipped;
  if (sigma > 0) for (let i = 0; i < update.length; i++) update[i] = update[i]! + sigma * options.source.normal();
  return { update, sigma, norm: c.norm };
}
