import { AggregationError, ConfigError } from '../../shared/errors.ts';
import {
  RdpAccountant,
  adaptClip,
  defaultBitNoise,
  dpFedAvg,
  formatDpSpec,
  updateNoiseMultiplier,
  type DpSpec,
  type NoiseSource,
} from '../../shared/privacy/index.ts';
import { requireFinite } from './common.ts';
import type { FitOutcome, PrivacyReport, Strategy, StrategyContext } from './strategy.ts';

/** The privacy spent so far, as the round records report it; `clip` is the norm the next round uses (it moves under adaptive clipping). */
export type PrivacySpent = PrivacyReport;

export interface DpOptions {
  readonly spec: DpSpec;
  readonly delta: number;
  /** Where the coordinator's noise comes from (a ChaCha20 CSPRNG; seeded only in simulations). */
  readonly source: NoiseSource;
  /**
   * Whether the strategy's client sample is drawn from a secret source (ctx.sampling.random =
   * secretRng). Amplification by sampling assumes it; with a replayable (seeded) sample the
   * report adds each client's unamplified ε.
   */
  readonly samplingSecret: boolean;
}

/** One client's privacy without amplification: the rounds its update was in, and ε charged for each at q = 1. */
export interface ClientPrivacy {
  readonly rounds: number;
  readonly epsilon: number;
}

/**
 * Differential privacy around a strategy that averages.
 *
 * central (DP-FedAvg, McMahan et al. 2018): the coordinator clips each client's delta
 * to S, releases Σ clip(Δ_k)/(qN) + N(0, σ²) with σ = z·S/(qN) — qN the clients a
 * round asks, a fixed denominator so one client moves the result by at most S/(qN)
 * — and hands that one update to the inner strategy (FedAvg applies it; FedAvgM,
 * FedAdam … use it as their pseudo-gradient). With `adaptive` the clip follows the
 * target quantile of the update norms (Andrew et al. 2021), the noise budget split
 * between the update (z_Δ) and the clipped count (σ_b).
 *
 * local: each client clips and noises its own delta (the fit task carries S and z;
 * client/agent.ts applies them); the inner strategy averages as usual.
 *
 * Either way an RDP accountant tracks (ε, δ) for a client's data: central rounds are
 * the sampled Gaussian mechanism at the rate the round actually used — its sample over the
 * clients available to it, not the configured C (accounted as if Poisson-sampled at that
 * rate) — which amplifies only if nobody can know the sample (DpOptions.samplingSecret);
 * local rounds at q = 1, since the coordinator sees who took part, reported for both
 * neighbouring notions (an update against none, sensitivity S; any two updates, 2S).
 *
 * Whether a round releases never depends on an un-noised count (handlesShortRounds):
 * central DP releases every round — with fewer results than minFitClients, even none, the
 * release is the noised sum of what arrived — and charges it; local DP charges a round
 * whose noised updates reached the coordinator, and skips it (AggregationError) when they
 * are fewer than minFitClients. A round skipped because the inner step's model is not
 * finite still counts: the mechanism ran. The adaptive clip, like the inner strategy's
 * state, moves only in a round whose model enters.
 */
export function withDp(inner: Strategy, ctx: StrategyContext, o: DpOptions): Strategy & { privacy(): PrivacySpent; privacyByClient(): Record<string, ClientPrivacy> | undefined } {
  if (inner.needsAllUpdates) {
    throw new ConfigError(`dp: ${inner.name} needs every individual update (a robust aggregator), which differential privacy's clipped, noised average replaces; use fedavg, fedprox, fedavgm, fedadam, fedyogi or fedadagrad`);
  }
  const { spec } = o;
  const expected = Math.max(1, Math.min(ctx.clients, Math.max(ctx.sampling.min, Math.ceil(ctx.sampling.fraction * ctx.clients))));
  const q = spec.mode === 'central' ? expected / ctx.clients : 1;
  const bitNoise = spec.adaptive ? (spec.adaptive.bitNoise ?? defaultBitNoise(expected)) : undefined;
  // under adaptive clipping part of the budget noises the clipped count; the update gets z_Δ
  const updateZ = bitNoise !== undefined ? updateNoiseMultiplier(spec.noiseMultiplier, bitNoise) : spec.noiseMultiplier;
  const accountant = new RdpAccountant();
  // local DP, any two updates of one client: sensitivity 2S, as noise z/2 at sensitivity S
  const replaceOne = spec.mode === 'local' ? new RdpAccountant() : undefined;
  let clip = spec.clip;
  /** The rate each configured round actually samples at: its sample over the clients available to it. */
  const rates = new Map<number, number>();
  let lastRate = q;
  /** With a replayable sample: the rounds each client's update was in. */
  const joined = spec.mode === 'central' && !o.samplingSecret ? new Map<string, number>() : undefined;
  const unamplified = new Map<number, number>();
  const epsilonOf = (a: RdpAccountant) => (a.steps === 0 ? 0 : a.epsilon(o.delta).epsilon);
  /** ε of `rounds` unamplified rounds (the Gaussian mechanism at q = 1), cached by count. */
  const unamplifiedEpsilon = (rounds: number): number => {
    let e = unamplified.get(rounds);
    if (e === undefined) {
      const a = new RdpAccountant();
      a.step(1, spec.noiseMultiplier, rounds);
      unamplified.set(rounds, (e = epsilonOf(a)));
    }
    return e;
  };
  const charge = (rate: number, included: readonly FitOutcome[]) => {
    lastRate = rate;
    accountant.step(rate, spec.noiseMultiplier);
    replaceOne?.step(1, spec.noiseMultiplier / 2);
    if (joined) for (const r of included) joined.set(r.client.name, (joined.get(r.client.name) ?? 0) + 1);
  };

  const privacy = (): PrivacySpent => ({
    epsilon: epsilonOf(accountant),
    delta: o.delta,
    clip,
    samplingRate: lastRate,
    samplingSecret: spec.mode === 'local' || o.samplingSecret,
    ...(joined ? { epsilonUnamplifiedMax: unamplifiedEpsilon(Math.max(0, ...joined.values())) } : {}),
    ...(replaceOne ? { epsilonReplaceOne: epsilonOf(replaceOne) } : {}),
  });

  return {
    ...inner,
    name: inner.name,
    handlesShortRounds: true,
    configureFit(round, available, base) {
      // local DP: the clip and noise travel with the task; the client applies them
      const config = spec.mode === 'local' ? { ...base, localDp: { clip, noiseMultiplier: spec.noiseMultiplier } } : base;
      const instructions = inner.configureFit(round, available, config);
      if (spec.mode === 'central' && available.length > 0) rates.set(round, instructions.length / available.length);
      return instructions;
    },
    aggregateFit(round, global, results, failures) {
      const rate = rates.get(round) ?? q;
      rates.delete(round);
      // counted before anything can fail: see above, a skipped round spends privacy too
      if (spec.mode === 'local') {
        // the noised updates that arrived were released to the coordinator, whatever happens next
        if (results.length > 0) charge(1, results);
        if (results.length < ctx.sampling.min) throw new AggregationError(`only ${results.length} result${results.length === 1 ? '' : 's'}, ${ctx.sampling.min} needed`);
        return inner.aggregateFit(round, global, results, failures);
      }
      charge(rate, results);
      const released = dpFedAvg(
        results.map((r) => r.delta),
        { clip, noiseMultiplier: updateZ, expectedClients: expected, source: o.source, dimension: global.length },
      );
      const nextClip = spec.adaptive && bitNoise !== undefined
        ? adaptClip(clip, released.norms, { targetQuantile: spec.adaptive.targetQuantile, learningRate: spec.adaptive.learningRate, bitNoise, expectedClients: expected, source: o.source }).clip
        : clip;
      const update = { client: { id: 'dp', name: '(dp aggregate)' }, numExamples: 1, delta: released.update, metrics: {} };
      const next = requireFinite(inner.aggregateFit(round, global, [update], failures), inner.name);
      clip = nextClip;
      return next;
    },
    toConfig: () => ({ ...inner.toConfig(), dp: formatDpSpec(spec), dpDelta: o.delta }),
    privacy,
    privacyByClient: () => (joined ? Object.fromEntries([...joined].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, rounds]) => [name, { rounds, epsilon: unamplifiedEpsilon(rounds) }])) : undefined),
  };
}
